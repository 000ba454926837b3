//! Pure renderers: merged results in, text out. No simulation happens here, so
//! renderers are tested on hand-built inputs and golden files stay byte-stable.

pub mod plot;
pub mod pods;
pub mod propagation;
pub mod round;
pub mod summary;
pub mod table;
