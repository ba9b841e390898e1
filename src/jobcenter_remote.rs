//! The simulated jobcenter reached through its admin API, for scenario runs whose programs
//! run in other processes or containers (`sim run --ecosystem`, `--processes`).
