//! See tests/main.rs for what this module covers.

#[allow(unused_imports)]
use crate::common;
