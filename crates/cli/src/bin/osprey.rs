//! `osprey`: inspect system calls like sysdig. See `osprey --help`.

fn main() -> std::process::ExitCode {
    osprey_cli::inspect::main()
}
