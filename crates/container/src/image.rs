//! Image references split into repository, tag and digest the way libsinsp
//! splits them: the part before the first `/` is a registry host (it may have
//! a port) and stays in the repository; after it, `@` starts the digest and
//! the first `:` starts the tag.

/// The parts of an image reference; empty strings for missing parts.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ImageRef<'a> {
    /// Repository including any registry host (`docker.io/library/nginx`).
    pub(crate) repo: String,
    /// Tag (`1.25`), empty when the reference has none.
    pub(crate) tag: &'a str,
    /// Digest (`sha256:...`), empty when the reference has none.
    pub(crate) digest: &'a str,
}

/// Splits `image` (`registry:5000/team/app:1.0@sha256:...`).
pub(crate) fn split(image: &str) -> ImageRef<'_> {
    let (host, rem) = match image.split_once('/') {
        Some((host, rem)) => (Some(host), rem),
        None => (None, image),
    };
    let (name_tag, digest) = rem.split_once('@').unwrap_or((rem, ""));
    let (name, tag) = name_tag.split_once(':').unwrap_or((name_tag, ""));
    let repo = match host {
        Some(host) => format!("{host}/{name}"),
        None => name.to_owned(),
    };
    ImageRef { repo, tag, digest }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(image: &str) -> (String, &str, &str) {
        let r = split(image);
        (r.repo, r.tag, r.digest)
    }

    #[test]
    fn splits_like_libsinsp() {
        assert_eq!(parts("nginx"), ("nginx".into(), "", ""));
        assert_eq!(parts("nginx:1.25"), ("nginx".into(), "1.25", ""));
        assert_eq!(
            parts("osprey-test/nginx:1.0"),
            ("osprey-test/nginx".into(), "1.0", "")
        );
        assert_eq!(
            parts("localhost:5000/team/app:2"),
            ("localhost:5000/team/app".into(), "2", "")
        );
        assert_eq!(
            parts("localhost:5000/app"),
            ("localhost:5000/app".into(), "", "")
        );
        assert_eq!(
            parts("docker.io/library/redis@sha256:abcd"),
            ("docker.io/library/redis".into(), "", "sha256:abcd")
        );
        assert_eq!(
            parts("quay.io/x/y:3@sha256:ef"),
            ("quay.io/x/y".into(), "3", "sha256:ef")
        );
        assert_eq!(parts(""), (String::new(), "", ""));
    }
}
