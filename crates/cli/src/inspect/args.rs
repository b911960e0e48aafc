//! Command-line arguments of `osprey`, spelled the way sysdig spells them.

use clap::Parser;
use osprey_filter::fields::syscall::TimeMode;

/// Inspect system calls, live or from capture files, like sysdig.
///
/// Every argument left over after the options is joined with spaces into one filter,
/// e.g. `osprey -r trace.scap proc.name=nginx and fd.name contains /etc`.
#[derive(Debug, Parser)]
#[command(
    name = "osprey",
    version,
    disable_version_flag = true,
    infer_long_args = true,
    about = "Inspect system activity: read capture files, filter and print events (sysdig-compatible)."
)]
pub struct Args {
    /// Print only the printable characters of data buffers, and their line ends.
    #[arg(short = 'A', long = "print-ascii")]
    pub print_ascii: bool,
    /// Print data buffers in base64.
    #[arg(short = 'b', long = "print-base64")]
    pub print_base64: bool,
    /// Apply the filter after state tracking (a display filter), so fd and process
    /// context stays complete even for events the filter drops.
    #[arg(short = 'd', long = "displayflt")]
    pub display_filter: bool,
    /// Also show internal events (such as procinfo) normally hidden from output.
    #[arg(short = 'D', long = "debug")]
    pub debug: bool,
    /// Do not load user and group tables (user.name and group.name become unavailable,
    /// and no user table is written by -w).
    #[arg(short = 'E', long = "exclude-users")]
    pub exclude_users: bool,
    /// Print events as JSON, one object per line.
    #[arg(short = 'j', long = "json")]
    pub json: bool,
    /// List the available fields (add -v for their types).
    #[arg(short = 'l', long = "list")]
    pub list: bool,
    /// List the event types and their arguments.
    #[arg(short = 'L', long = "list-events")]
    pub list_events: bool,
    /// Stop after this many seconds of event time since the first event.
    #[arg(short = 'M', value_name = "SECONDS")]
    pub max_seconds: Option<u64>,
    /// Stop after this many events (counted after filtering).
    #[arg(short = 'n', long = "numevents", value_name = "N")]
    pub numevents: Option<u64>,
    /// Output format: a format string with %field tokens, or c (containers),
    /// k (Kubernetes), m (Mesos), p (print the default format and exit).
    #[arg(short = 'p', long = "print", value_name = "FORMAT")]
    pub print: Option<String>,
    /// Print no events (they are still counted for -S).
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Read events from this capture file (raw or gzip). May be repeated.
    #[arg(short = 'r', long = "readfile", value_name = "FILE")]
    pub readfile: Vec<String>,
    /// Bytes of each I/O buffer to capture (live capture; capture files keep what they hold).
    #[arg(short = 's', long = "snaplen", value_name = "LEN")]
    pub snaplen: Option<u32>,
    /// After the run, print the 100 most frequent event types.
    #[arg(short = 'S', long = "summary")]
    pub summary: bool,
    /// Timestamp mode for %evt.outputtime: h (human), a (absolute), r (relative to
    /// the first event), d (thread latency), D (delta between printed events).
    #[arg(short = 't', long = "timetype", value_name = "MODE")]
    pub timetype: Option<String>,
    /// Do not shorten data buffers, and print statistics on stderr at the end.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
    /// Write the events that pass the filter to this capture file (implies -q).
    #[arg(short = 'w', long = "writefile", value_name = "FILE")]
    pub writefile: Option<String>,
    /// Print data buffers as hex.
    #[arg(short = 'x', long = "print-hex")]
    pub print_hex: bool,
    /// Print data buffers as hex and ASCII.
    #[arg(short = 'X', long = "print-hex-ascii")]
    pub print_hex_ascii: bool,
    /// Compress the -w output file with gzip.
    #[arg(short = 'z', long = "compress")]
    pub compress: bool,
    /// A CRI runtime socket (containerd, cri-o) to ask for container
    /// metadata, before the default sockets. May be repeated.
    #[arg(long = "cri", value_name = "PATH")]
    pub cri: Vec<std::path::PathBuf>,
    /// Flush the output after every event.
    #[arg(long = "unbuffered")]
    pub unbuffered: bool,
    /// Print the version and exit.
    #[arg(long = "version")]
    pub version: bool,
    /// Run a chisel (`-cl` lists them). A chisel with arguments takes the
    /// next word as its argument string, e.g. `-c fdbytes_by fd.name` or
    /// `-c spy_file "W /tmp/x"`. May be repeated.
    #[arg(short = 'c', long = "chisel", value_name = "CHISEL")]
    pub chisel: Vec<String>,
    /// Describe a chisel: its description and arguments.
    #[arg(short = 'i', long = "chisel-info", value_name = "CHISEL")]
    pub chisel_info: Option<String>,
    /// The filter, e.g. `proc.name=cat and evt.type=open`. Words a chisel
    /// consumed as its arguments are left out.
    pub filter: Vec<String>,
    /// How many leading filter words chisels consumed (set after parsing).
    #[arg(skip)]
    pub chisel_words: usize,
}

impl Args {
    /// The `-t` mode, or an error message for an unknown one.
    pub fn time_mode(&self) -> Result<TimeMode, String> {
        match self.timetype.as_deref() {
            None | Some("h") => Ok(TimeMode::Human),
            Some("a") => Ok(TimeMode::Absolute),
            Some("r") => Ok(TimeMode::Relative),
            Some("d") => Ok(TimeMode::Delta),
            Some("D") => Ok(TimeMode::DeltaPrinted),
            Some(other) => Err(format!("invalid modifier for flag -t: {other}")),
        }
    }

    /// The filter text: the positional arguments that no chisel consumed,
    /// joined by spaces.
    pub fn filter_text(&self) -> Option<String> {
        let rest = self.filter.get(self.chisel_words..).unwrap_or_default();
        (!rest.is_empty()).then(|| rest.join(" "))
    }
}
