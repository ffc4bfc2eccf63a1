//! `trent envelope`: placeholder.
pub fn command() -> clap::Command { clap::Command::new("envelope") }
pub fn run(_s: &crate::config::Settings, _m: &clap::ArgMatches) -> Result<(), crate::Failure> { Ok(()) }
