//! The JavaScript guests (`js/`).

use crate::Paths;

pub(crate) fn build(_paths: &Paths) {}
