//! HTTP routes: Falcosidekick's ingest API, Falcosidekick-UI's read API, the hub's own
//! API (time lines, export, event detail) and the web UI.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use serde_json::Value;

use crate::config::parse_duration;
use crate::event::Event;
use crate::server::Hub;
use crate::store::{Filter, GroupBy, Record, HOUR_NS};
use crate::{Error, Priority};

type Shared = State<Arc<Hub>>;
type Params = Query<HashMap<String, String>>;

const BAD_BODY: &str = "Please send a valid request body";
const BAD_METHOD: &str = "Please send with post http method";

/// Nanoseconds since the Unix epoch, now.
pub fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}

fn text(status: StatusCode, body: &'static str) -> Response {
    (status, body).into_response()
}

fn json_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"osprey-hub\""),
        )],
        "unauthorized",
    )
        .into_response()
}

fn internal(e: &Error) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
}

/// The full router, every path under `basepath`.
pub fn router(hub: Arc<Hub>) -> Router {
    let b = hub.config.basepath.trim_end_matches('/').to_owned();
    let p = |s: &str| format!("{b}{s}");
    let mut r = Router::new()
        .route(&p("/"), any(root))
        .route(&p("/test"), post(test_event))
        .route(&p("/ping"), any(|| async { "pong\n" }))
        .route(&p("/healthz"), any(healthz))
        .route(&p("/metrics"), get(metrics))
        .route(&p("/api/v1/"), post(ui_add))
        .route(&p("/api/v1/events/add"), post(ui_add))
        .route(&p("/api/v1/healthz"), get(healthz))
        .route(&p("/api/v1/auth"), post(authenticate))
        .route(&p("/api/v1/authenticate"), post(authenticate))
        .route(&p("/api/v1/outputs"), get(outputs))
        .route(&p("/api/v1/version"), get(version))
        .route(&p("/api/v1/events/count"), get(count))
        .route(&p("/api/v1/events/count/{groupby}"), get(count_by))
        .route(&p("/api/v1/events/search"), get(search))
        .route(&p("/api/hub/timeline"), get(timeline))
        .route(&p("/api/hub/export"), get(export))
        .route(&p("/api/hub/events/{uuid}"), get(event_detail))
        .route(&p("/api/hub/stats"), get(stats))
        .route(
            &p("/assets/app.js"),
            get(|s: Shared, h: HeaderMap| asset(s, h, crate::ui::APP_JS, "text/javascript")),
        )
        .route(
            &p("/assets/app.css"),
            get(|s: Shared, h: HeaderMap| asset(s, h, crate::ui::APP_CSS, "text/css")),
        );
    if !b.is_empty() {
        let to = format!("{b}/");
        r = r.route(
            &b,
            get(move || async move { (StatusCode::FOUND, [(header::LOCATION, to)]) }),
        );
    }
    r.with_state(hub)
}

/// The plain-HTTP router of `tlsserver.notlsport`: only `tlsserver.notlspaths`.
pub fn notls_router(hub: &Arc<Hub>) -> Router {
    let full = router(hub.clone());
    let b = hub.config.basepath.trim_end_matches('/').to_owned();
    let allowed: Vec<String> = hub
        .config
        .tlsserver
        .notlspaths
        .iter()
        .map(|p| format!("{b}{p}"))
        .collect();
    Router::new().fallback(move |req: axum::extract::Request| {
        let full = full.clone();
        let ok = allowed.iter().any(|p| p == req.uri().path());
        async move {
            if !ok {
                return StatusCode::NOT_FOUND.into_response();
            }
            match tower::ServiceExt::oneshot(full, req).await {
                Ok(r) => r,
                Err(never) => match never {},
            }
        }
    })
}

async fn read_body(hub: &Hub, headers: &HeaderMap, body: Body) -> Result<Bytes, Response> {
    let max = hub.config.maxbodysize;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        hub.metrics.rejected();
        return Err(text(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large",
        ));
    }
    match axum::body::to_bytes(body, usize::try_from(max).unwrap_or(usize::MAX)).await {
        Ok(b) if b.is_empty() => {
            hub.metrics.rejected();
            Err(text(StatusCode::BAD_REQUEST, BAD_BODY))
        }
        Ok(b) => Ok(b),
        Err(_) => {
            hub.metrics.rejected();
            Err(text(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large",
            ))
        }
    }
}

async fn accept(hub: &Hub, ev: Event) -> Response {
    hub.metrics.accepted(&ev);
    hub.forward(&ev);
    match hub.submit(Record::new(ev)).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

async fn root(State(hub): Shared, method: Method, headers: HeaderMap, body: Body) -> Response {
    if method == Method::GET || method == Method::HEAD {
        if !hub.auth.read_ok(&headers) {
            return unauthorized();
        }
        return (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            crate::ui::INDEX_HTML,
        )
            .into_response();
    }
    if method != Method::POST {
        hub.metrics.rejected();
        return text(StatusCode::BAD_REQUEST, BAD_METHOD);
    }
    if !hub.auth.ingest_ok(&headers) {
        hub.metrics.rejected();
        return unauthorized();
    }
    let bytes = match read_body(&hub, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    match hub.enricher.parse(&bytes) {
        Ok(ev) => accept(&hub, ev).await,
        Err(_) => {
            hub.metrics.rejected();
            text(StatusCode::BAD_REQUEST, BAD_BODY)
        }
    }
}

async fn test_event(State(hub): Shared, headers: HeaderMap) -> Response {
    if !hub.auth.ingest_ok(&headers) {
        return unauthorized();
    }
    let mut ev = Event::test_event(now_ns());
    hub.enricher.enrich(&mut ev);
    accept(&hub, ev).await
}

async fn ui_add(State(hub): Shared, headers: HeaderMap, body: Body) -> Response {
    if !hub.auth.ingest_ok(&headers) {
        hub.metrics.rejected();
        return unauthorized();
    }
    let bytes = match read_body(&hub, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let outputs = serde_json::from_slice::<Value>(&bytes).ok().and_then(|v| {
        v.get("outputs")?.as_array().map(|a| {
            a.iter()
                .filter_map(|o| o.as_str().map(str::to_owned))
                .collect::<Vec<_>>()
        })
    });
    match hub.enricher.parse_ui_payload(&bytes) {
        Ok(ev) => {
            if let (Some(o), Ok(mut cur)) = (outputs, hub.outputs.lock()) {
                *cur = o;
            }
            let r = accept(&hub, ev).await;
            if r.status() == StatusCode::OK {
                json_response(StatusCode::OK, "{}".into())
            } else {
                r
            }
        }
        Err(_) => {
            hub.metrics.rejected();
            text(StatusCode::BAD_REQUEST, BAD_BODY)
        }
    }
}

async fn healthz() -> Response {
    json_response(StatusCode::OK, "{\"status\": \"ok\"}".into())
}

async fn metrics(State(hub): Shared) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        hub.metrics.render(&hub.forwarder_counts()),
    )
        .into_response()
}

async fn authenticate(State(hub): Shared, headers: HeaderMap) -> Response {
    if hub.auth.read_ok(&headers) {
        text(StatusCode::OK, "authorized")
    } else {
        unauthorized()
    }
}

async fn outputs(State(hub): Shared, headers: HeaderMap) -> Response {
    if !hub.auth.read_ok(&headers) {
        return unauthorized();
    }
    let mut list = hub.forwarder_names();
    if list.is_empty() {
        list = hub.outputs.lock().map(|o| o.clone()).unwrap_or_default();
    }
    json_response(StatusCode::OK, Value::from(list).to_string())
}

async fn version(State(hub): Shared, headers: HeaderMap) -> Response {
    if !hub.auth.read_ok(&headers) {
        return unauthorized();
    }
    let v = serde_json::json!({"name": "osprey-hub", "version": env!("CARGO_PKG_VERSION")});
    json_response(StatusCode::OK, v.to_string())
}

/// Builds a store filter from Falcosidekick-UI query parameters.
pub fn filter_from(q: &HashMap<String, String>, now: i64) -> Filter {
    let get = |k: &str| {
        q.get(k)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty() && *s != "null")
    };
    let list = |k: &str| -> Vec<String> {
        get(k)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    Filter {
        since_ns: get("since").and_then(parse_duration).map(|s| {
            now.saturating_sub(
                i64::try_from(s)
                    .unwrap_or(i64::MAX / 2)
                    .saturating_mul(1_000_000_000),
            )
        }),
        priorities: list("priority")
            .iter()
            .map(|p| Priority::parse(p))
            .collect(),
        rules: list("rule"),
        sources: list("source"),
        hostnames: list("hostname"),
        tags: list("tags"),
        text: get("filter").unwrap_or_default().to_owned(),
    }
}

fn pretty(q: &HashMap<String, String>, v: String) -> String {
    if q.get("pretty").map(String::as_str) == Some("true") {
        if let Ok(parsed) = serde_json::from_str::<Value>(&v) {
            if let Ok(p) = serde_json::to_string_pretty(&parsed) {
                return p;
            }
        }
    }
    v
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(internal(&e)),
        Err(_) => Err(StatusCode::INTERNAL_SERVER_ERROR.into_response()),
    }
}

async fn count(State(hub): Shared, headers: HeaderMap, Query(q): Params) -> Response {
    if !hub.auth.read_ok(&headers) {
        return unauthorized();
    }
    let f = filter_from(&q, now_ns());
    let h = hub.clone();
    match blocking(move || h.store.count(&f)).await {
        Ok(n) => json_response(
            StatusCode::OK,
            pretty(&q, format!("{{\"statistics\":{{\"all\":{n}}}}}")),
        ),
        Err(r) => r,
    }
}

async fn count_by(
    State(hub): Shared,
    headers: HeaderMap,
    Path(by): Path<String>,
    Query(q): Params,
) -> Response {
    if !hub.auth.read_ok(&headers) {
        return unauthorized();
    }
    let Some(g) = GroupBy::parse(&by) else {
        return text(StatusCode::BAD_REQUEST, "wrong Group By field");
    };
    let f = filter_from(&q, now_ns());
    let h = hub.clone();
    match blocking(move || h.store.count_by(&f, g)).await {
        Ok(rows) => {
            let all: u64 = rows.iter().map(|r| r.1).sum();
            let mut results = serde_json::Map::new();
            for (k, n) in &rows {
                results.insert(k.clone(), Value::from(*n));
            }
            let mut stats = serde_json::Map::new();
            if !rows.is_empty() {
                stats.insert("distincts".into(), Value::from(rows.len()));
            }
            stats.insert("all".into(), Value::from(all));
            let mut body = serde_json::Map::new();
            if !results.is_empty() {
                body.insert("results".into(), Value::Object(results));
            }
            body.insert("statistics".into(), Value::Object(stats));
            json_response(StatusCode::OK, pretty(&q, Value::Object(body).to_string()))
        }
        Err(r) => r,
    }
}

fn limit_page(q: &HashMap<String, String>) -> (u32, u64) {
    let limit = q
        .get("limit")
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|&l| l > 0)
        .unwrap_or(100)
        .min(10_000);
    let page = q
        .get("page")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(1)
        .max(1)
        - 1;
    (limit, page * u64::from(limit))
}

async fn search(State(hub): Shared, headers: HeaderMap, Query(q): Params) -> Response {
    if !hub.auth.read_ok(&headers) {
        return unauthorized();
    }
    let f = filter_from(&q, now_ns());
    let (limit, offset) = limit_page(&q);
    let h = hub.clone();
    match blocking(move || Ok((h.store.search(&f, limit, offset)?, h.store.count(&f)?))).await {
        Ok((rows, all)) => {
            let mut s = String::with_capacity(rows.iter().map(String::len).sum::<usize>() + 64);
            s.push_str("{\"results\":[");
            for (i, r) in rows.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                s.push_str(r);
            }
            s.push_str("],\"statistics\":{");
            if !rows.is_empty() {
                s.push_str(&format!("\"returned\":{},", rows.len()));
            }
            s.push_str(&format!("\"all\":{all}}}}}"));
            json_response(StatusCode::OK, pretty(&q, s))
        }
        Err(r) => r,
    }
}

/// Picks a time-line bucket width for a window: at most about 48 buckets, whole hours
/// (roll-up friendly) from a 12-hour window up, otherwise a round number of minutes.
pub fn bucket_for(window_ns: i64) -> i64 {
    const MIN: i64 = 60_000_000_000;
    let raw = (window_ns / 48).max(MIN);
    if window_ns >= 12 * HOUR_NS || raw > 30 * MIN {
        return ((raw + HOUR_NS - 1) / HOUR_NS).max(1) * HOUR_NS;
    }
    for m in [1, 2, 5, 10, 15, 30] {
        if raw <= m * MIN {
            return m * MIN;
        }
    }
    HOUR_NS
}

async fn timeline(State(hub): Shared, headers: HeaderMap, Query(q): Params) -> Response {
    if !hub.auth.read_ok(&headers) {
        return unauthorized();
    }
    let now = now_ns();
    let mut f = filter_from(&q, now);
    let since = *f.since_ns.get_or_insert(now - 24 * HOUR_NS);
    let by = q
        .get("groupby")
        .and_then(|g| GroupBy::parse(g))
        .unwrap_or(GroupBy::Priority);
    let bucket = bucket_for(now - since);
    let h = hub.clone();
    match blocking(move || h.store.timeline(&f, by, bucket)).await {
        Ok(rows) => {
            let mut buckets: Vec<Value> = Vec::new();
            let mut last: Option<i64> = None;
            for (b, k, n) in rows {
                if last != Some(b) {
                    buckets.push(serde_json::json!({"t": b / 1_000_000, "counts": {}}));
                    last = Some(b);
                }
                if let Some(Value::Object(c)) = buckets.last_mut().and_then(|v| v.get_mut("counts"))
                {
                    c.insert(k, Value::from(n));
                }
            }
            let v = serde_json::json!({
                "groupby": by_name(by),
                "since_ms": since / 1_000_000,
                "now_ms": now / 1_000_000,
                "bucket_ms": bucket / 1_000_000,
                "buckets": buckets,
            });
            json_response(StatusCode::OK, pretty(&q, v.to_string()))
        }
        Err(r) => r,
    }
}

fn by_name(by: GroupBy) -> &'static str {
    match by {
        GroupBy::Priority => "priority",
        GroupBy::Rule => "rule",
        GroupBy::Source => "source",
        GroupBy::Hostname => "hostname",
        GroupBy::Tags => "tags",
    }
}

async fn event_detail(
    State(hub): Shared,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Response {
    if !hub.auth.read_ok(&headers) {
        return unauthorized();
    }
    let h = hub.clone();
    match blocking(move || h.store.get(&uuid)).await {
        Ok(Some(j)) => json_response(StatusCode::OK, j),
        Ok(None) => text(StatusCode::NOT_FOUND, "no such event"),
        Err(r) => r,
    }
}

async fn stats(State(hub): Shared, headers: HeaderMap) -> Response {
    if !hub.auth.read_ok(&headers) {
        return unauthorized();
    }
    let h = hub.clone();
    match blocking(move || Ok((h.store.count(&Filter::default())?, h.store.size_bytes()?))).await {
        Ok((events, bytes)) => {
            let v = serde_json::json!({"events": events, "bytes": bytes, "stored_since_start": hub.metrics.stored_count()});
            json_response(StatusCode::OK, v.to_string())
        }
        Err(r) => r,
    }
}

fn csv_field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

fn csv_row(json: &str, out: &mut String) {
    let v: Value = serde_json::from_str(json).unwrap_or(Value::Null);
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let tags = v
        .get("tags")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let fields = v
        .get("output_fields")
        .map(Value::to_string)
        .unwrap_or_default();
    for (i, f) in [
        s("time"),
        s("uuid"),
        s("priority"),
        s("rule"),
        s("source"),
        s("hostname"),
        tags,
        s("output"),
        fields,
    ]
    .iter()
    .enumerate()
    {
        if i > 0 {
            out.push(',');
        }
        csv_field(out, f);
    }
    out.push_str("\r\n");
}

/// Streams every matching event (no cap) as JSON (an array), NDJSON or CSV.
async fn export(State(hub): Shared, headers: HeaderMap, Query(q): Params) -> Response {
    if !hub.auth.read_ok(&headers) {
        return unauthorized();
    }
    let format = q.get("format").map_or("json", String::as_str).to_owned();
    let (ctype, ext) = match format.as_str() {
        "json" => ("application/json", "json"),
        "ndjson" => ("application/x-ndjson", "ndjson"),
        "csv" => ("text/csv; charset=utf-8", "csv"),
        _ => {
            return text(
                StatusCode::BAD_REQUEST,
                "format must be json, ndjson or csv",
            )
        }
    };
    let f = filter_from(&q, now_ns());
    let cap = q
        .get("limit")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(u64::MAX);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, Infallible>>(4);
    let h = hub.clone();
    tokio::task::spawn_blocking(move || {
        let mut after = None;
        let mut sent = 0u64;
        let mut chunk = String::new();
        match format.as_str() {
            "json" => chunk.push('['),
            "csv" => chunk
                .push_str("time,uuid,priority,rule,source,hostname,tags,output,output_fields\r\n"),
            _ => {}
        }
        loop {
            let want = u32::try_from((cap - sent).min(1000)).unwrap_or(1000);
            if want == 0 {
                break;
            }
            let Ok(rows) = h.store.export_page(&f, after, want) else {
                break;
            };
            for r in &rows {
                match format.as_str() {
                    "json" => {
                        if sent > 0 {
                            chunk.push(',');
                        }
                        chunk.push_str(&r.json);
                    }
                    "ndjson" => {
                        chunk.push_str(&r.json);
                        chunk.push('\n');
                    }
                    _ => csv_row(&r.json, &mut chunk),
                }
                sent += 1;
            }
            if tx
                .blocking_send(Ok(Bytes::from(std::mem::take(&mut chunk))))
                .is_err()
            {
                return;
            }
            match rows.last() {
                Some(last) if rows.len() == want as usize => after = Some((last.ts, last.id)),
                _ => break,
            }
        }
        if format == "json" {
            chunk.push(']');
        }
        let _ = tx.blocking_send(Ok(Bytes::from(chunk)));
    });
    let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    let disposition = format!("attachment; filename=\"falco_events.{ext}\"");
    (
        [
            (header::CONTENT_TYPE, ctype.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

async fn asset(
    State(hub): Shared,
    headers: HeaderMap,
    body: &'static str,
    ctype: &'static str,
) -> Response {
    if !hub.auth.read_ok(&headers) {
        return unauthorized();
    }
    ([(header::CONTENT_TYPE, ctype)], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets() {
        assert_eq!(bucket_for(24 * HOUR_NS), HOUR_NS);
        assert_eq!(bucket_for(HOUR_NS), 2 * 60_000_000_000);
        assert_eq!(bucket_for(7 * 24 * HOUR_NS) % HOUR_NS, 0);
        assert_eq!(bucket_for(48 * HOUR_NS), HOUR_NS);
    }

    #[test]
    fn filters_from_query() {
        let q: HashMap<String, String> = [
            ("since", "1h"),
            ("priority", "warning,Error"),
            ("rule", "null"),
            ("tags", "a, b"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let f = filter_from(&q, 10 * HOUR_NS);
        assert_eq!(f.since_ns, Some(9 * HOUR_NS));
        assert_eq!(f.priorities, vec![Priority::Warning, Priority::Error]);
        assert!(f.rules.is_empty());
        assert_eq!(f.tags, vec!["a", "b"]);
    }
}
