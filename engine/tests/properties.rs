#![allow(clippy::unwrap_used)]
//! placeholder
use proptest::prelude::*;
proptest! { #[test] fn t(x in 0u8..2) { prop_assert!(x < 2); let _ = trent::Kms::builder(); } }
