//! Fuzzes the k8s_audit input and fields: any bytes, read as a webhook body
//! and as a log stream, must give events or clean errors; every event must
//! evaluate a filter over list, container, argument and JSON fields and
//! render them in a format, without panicking.

#![no_main]

use std::ops::ControlFlow;

use libfuzzer_sys::fuzz_target;
use osprey_audit::fields::{input, KaCatalog, KaEvent, KaFields};
use osprey_filter::format::Format;
use osprey_filter::timefmt::LocalClock;
use osprey_filter::{Filter, Values};

const COND: &str = "ka.user.groups intersects (a, b) or ka.req.pod.containers.image.repository in (x) \
    or ka.req.pod.volumes.hostpath pmatch (/etc) or ka.uri.param[q] = 1 or jevt.value[/a/0/b] exists \
    or ka.req.role.rules.verbs contains c or ka.req.volume.hostpath[/x*] = true or len(ka.sourceips) > 1";

const OUT: &str = "*%ka.auditid %ka.req.pod.containers.eff_run_as_user %ka.req.pod.containers.host_port \
    %ka.req.binding.subjects.serviceaccount_ns_names %ka.req.pod.volumes.volume_type %jevt.obj %evt.time";

thread_local! {
    /// The filter and format, compiled once (a filter keeps per-thread scratch space).
    static COMPILED: (Filter, Format) = (
        Filter::compile(COND, &KaCatalog).expect("the fuzz filter compiles"),
        Format::parse(OUT, &KaCatalog).expect("the fuzz format parses"),
    );
}

fn check(ev: &KaEvent) {
    COMPILED.with(|(f, fmt)| check_with(f, fmt, ev));
}

fn check_with(f: &Filter, fmt: &Format, ev: &KaEvent) {
    let clock = LocalClock::new();
    let ctx = KaFields::new(ev, &clock);
    let _ = f.matches(&ctx);
    let mut out = Vec::new();
    let _ = fmt.write_text(&ctx, &mut Values::new(), &mut out);
    out.clear();
    let _ = fmt.write_json(&ctx, &mut Values::new(), &mut out);
}

fuzz_target!(|data: &[u8]| {
    let _ = input::read_payload(data, &mut |r| {
        if let Ok(ev) = r {
            check(&ev);
        }
        ControlFlow::Continue(())
    });
    let _ = input::read_stream(data, &mut |r| {
        if let Ok(ev) = r {
            check(&ev);
        }
        ControlFlow::Continue(())
    });
});
