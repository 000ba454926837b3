//! Pure renderers: merged results in, text out. No simulation happens here, so
//! renderers are tested on hand-built inputs and golden files stay byte-stable.

pub mod autoscale;
pub mod chart;
pub mod fortio;
pub mod hgrm;
pub mod html;
pub mod istio_csv;
pub mod markup;
pub mod openmetrics;
pub mod overload;
pub mod percentile_ci;
pub mod percentiles;
pub mod plot;
pub mod pods;
pub mod propagation;
pub mod round;
pub mod summary;
pub mod table;
