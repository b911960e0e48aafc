//! Kubernetes audit: policy engine, audit log and webhook backends, ka.* fields.
