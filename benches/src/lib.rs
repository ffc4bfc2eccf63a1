//! trent-benches: criterion benches beside the raw primitives (see `benches/`).
