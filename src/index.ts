/**
 * Ferry's public API. Every export of the package goes through this file (design.md rule 11).
 * @packageDocumentation
 */
export {};
