//! The web UI: static assets compiled into the binary (plain HTML, CSS and JavaScript;
//! no build step). Charts are computed by the server and drawn as SVG by the page.

/// The single page.
pub const INDEX_HTML: &str = include_str!("../assets/index.html");
/// The page's script.
pub const APP_JS: &str = include_str!("../assets/app.js");
/// The page's style sheet.
pub const APP_CSS: &str = include_str!("../assets/app.css");
