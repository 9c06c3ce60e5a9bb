/** An endpoint's address in the simulator: an opaque name such as `a` or `10.0.0.1:4000`. */
export type SimAddress = string;
