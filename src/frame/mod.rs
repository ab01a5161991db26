//! The frame codec (RFC 6455 §5): opcodes, headers, close codes. Knows bytes
//! and the unmask kernels; knows nothing of connections or IO.

mod close;
mod header;
mod opcode;

pub use close::{
    encode_close_payload, parse_close_payload, CloseCode, CloseFrame, ClosePayloadError,
};
pub use header::{
    FrameHeader, HeaderError, HeaderRules, Parsed, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, RSV1, RSV2,
    RSV3,
};
pub use opcode::Opcode;
