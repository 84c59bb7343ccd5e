//! The Docker API's multiplexed stream framing: one implementation, in
//! `crate::mux` (the monitor's attach socket speaks it too).
pub use crate::mux::{frame, FrameStream};
