/**
 * Ferry's public API. Every export of the package goes through this file (design.md rule 11).
 *
 * - The sans-IO protocol core: {@link Connection} and {@link Endpoint}, driven by `handle…`/`poll…`/`nextTimeout`.
 * - The wire format codecs (spec §2–§4).
 * - Congestion controllers (spec §9) behind one interface.
 * - The Reed-Solomon codec (spec §11).
 * - The deterministic network simulator and the simulated client/server pair used by the benchmarks.
 * @packageDocumentation
 */

// Trace files (spec §15): the qlog writer behind `ferry bench --trace`, for harnesses of your own.
export { MediaTrace } from './cli/trace/media-trace.ts';
export {
  type QlogFileInfo,
  QlogTraceWriter,
  type QlogTraceWriterOptions,
  qlogVersion,
} from './cli/trace/qlog-writer.ts';
// Forward error correction.
export { FecConnection } from './fec/fec-connection.ts';
export { FecEndpoint, type FecEndpointStats } from './fec/fec-endpoint.ts';
export { type FecOptions, FecSession, type FecStats, withFecReserve } from './fec/fec-session.ts';
export {
  type ReconstructOptions,
  type ReconstructResult,
  ReedSolomonCodec,
  type ReedSolomonOptions,
  type ReedSolomonStats,
  RS_DEFAULT_MEMORY_CAP_BYTES,
  RS_MAX_SHARD_BYTES,
} from './fec/reed-solomon.ts';
export {
  FecArgumentError,
  type FecArgumentReason,
  FecCodecError,
  type FecCodecFailure,
} from './fec/reed-solomon-errors.ts';
// Simulator.
export { BulkFlow, type BulkFlowSpec, BulkFlows, type BulkFlowsOptions } from './harness/bulk-flows.ts';
export { FerryPair, type FerryPairOptions, type Side } from './harness/ferry-pair.ts';
// Playout (jitter) buffer (spec §12.2).
export {
  type ConcealReason,
  defaultPlayoutOptions,
  PlayoutBuffer,
  type PlayoutConcealEvent,
  type PlayoutEvent,
  type PlayoutFrame,
  type PlayoutFrameEvent,
  type PlayoutOptions,
  type PlayoutStats,
  PlayoutUsageError,
  type PlayoutUsageReason,
  type PushOutcome,
} from './jitter/index.ts';
// Node binding (node:dgram): encrypted by default (spec §13); plaintext only when both sides opt in.
export type { UdpAddress } from './node/address.ts';
export {
  type ConnectOptions,
  connect,
  type EndpointCommonOptions,
  type ListenOptions,
  listen,
} from './node/api.ts';
export { type ChannelStreamOptions, FerryChannel, type FerryChannelMode } from './node/channel.ts';
export {
  type CloseOptions,
  type FerryCloseInfo,
  FerryConnection,
  type FerryConnectionStats,
  type OpenChannelOptions,
  type UnconfirmedSend,
} from './node/connection.ts';
export { CryptoRandom } from './node/crypto-random.ts';
export {
  FerryClosedError,
  type FerryClosedReason,
  FerryExpiredError,
  FerryOptionsError,
} from './node/errors.ts';
export {
  ImpairmentRelay,
  type ImpairmentRelayOptions,
  type ImpairmentRelayStats,
  type RelayDirectionStats,
} from './node/impairment-relay.ts';
export { type FerryKeyPair, generateKeyPair, generatePsk, publicKeyOf } from './node/keys.ts';
export { FerryServer, type ServerCloseOptions } from './node/server.ts';
export {
  type ConnectionSink,
  UdpEndpoint,
  type UdpEndpointOptions,
  type UdpEndpointStats,
} from './node/udp-endpoint.ts';
// Protocol core.
export type { CcPacket, CcRtt, CongestionController } from './protocol/cc/congestion-controller.ts';
export { Cubic, type CubicOptions } from './protocol/cc/cubic.ts';
export { LossTolerant, type LossTolerantOptions } from './protocol/cc/loss-tolerant.ts';
export { NewReno, type NewRenoOptions } from './protocol/cc/new-reno.ts';
export {
  ChannelMode,
  type ChannelOpener,
  channelModeOf,
  defaultChannelId,
  isReliableMode,
  makeChannelId,
} from './protocol/channel/channel-id.ts';
export {
  Connection,
  type ConnectionOptions,
  type ConnectionState,
  type ConnectionStats,
} from './protocol/connection.ts';
export { type ConnectionConfig, defaultConnectionConfig } from './protocol/connection-config.ts';
export type {
  CloseInitiator,
  ConnectionEvent,
  ReceivedMessage,
  UnconfirmedMessage,
} from './protocol/connection-events.ts';
export {
  Endpoint,
  type EndpointEvent,
  type EndpointOptions,
  type EndpointStats,
  type EndpointTransmit,
} from './protocol/endpoint.ts';
export { CloseCode, FerryUsageError } from './protocol/errors.ts';
export type { RandomSource } from './protocol/random.ts';
export type { DeliverySnapshot, RateSample } from './protocol/recovery/delivery-rate.ts';
// Security layer (spec §13).
export { ferryVersion, type TransportParams } from './protocol/security/handshake-codec.ts';
export { protectionOverheadBytes } from './protocol/security/packet-protection.ts';
export {
  type EndpointDriver,
  SecureEndpoint,
  type SecureEndpointEvent,
  type SecureEndpointOptions,
} from './protocol/security/secure-endpoint.ts';
export {
  defaultSecurityLimits,
  type SecureEndpointStats,
  type SecurityLimits,
  type SecuritySettings,
} from './protocol/security/security-options.ts';
// Event trace (spec §15).
export {
  congestionStateOf,
  type TraceCongestionStateData,
  type TraceEventMap,
  type TraceEventName,
  type TraceFrame,
  type TraceLossTimerData,
  type TraceMediaFrameData,
  type TraceMetricsData,
  type TracePacketData,
  type TracePacketDroppedData,
  type TracePacketHeader,
  type TracePacketLostData,
  type TraceRecoveredData,
  type TraceRepairData,
  type TraceSink,
  type TraceSinks,
  type TraceUnrecoverableData,
  type TraceVantage,
  traceEventNames,
  traceFrame,
} from './protocol/trace.ts';
// Wire format.
export * as wire from './protocol/wire/index.ts';
export type { SimEndpoint, Transmit } from './sim/endpoint.ts';
export { SimulationLimitError } from './sim/errors.ts';
export type { SimEvent } from './sim/events.ts';
export { Link, type LinkProfile, linkFromProfile, profileNodes } from './sim/link.ts';
export { SeededRandom } from './sim/random.ts';
export { type RunOptions, type RunResult, Simulation, type SimulationOptions } from './sim/simulation.ts';
