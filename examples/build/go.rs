//! The Go guests (`go/`).

use crate::Paths;

pub(crate) fn build(_paths: &Paths) {}
