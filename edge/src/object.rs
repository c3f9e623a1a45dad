//! One HTTP response as the edge holds it: status, headers, whole body.

use bytes::Bytes;

#[derive(Debug, Clone)]
pub struct Object {
    pub status: u16,
    /// Lower-case names, in order.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Object {
    pub fn new(status: u16, body: Bytes) -> Object {
        Object {
            status,
            headers: Vec::new(),
            body,
        }
    }

    /// A plain-text error response (never cached).
    pub fn error(status: u16, message: impl Into<String>) -> Object {
        let mut msg = message.into();
        msg.push('\n');
        let mut o = Object::new(status, msg.into());
        o.set_header("content-type", "text/plain; charset=utf-8");
        o.set_header("cache-control", "no-store");
        o
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        let name = name.to_ascii_lowercase();
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value.into()));
    }

    /// Bytes this response holds in the cache (body, headers, key).
    pub fn weight(&self, key: &str) -> usize {
        self.body.len()
            + key.len()
            + self
                .headers
                .iter()
                .map(|(n, v)| n.len() + v.len() + 32)
                .sum::<usize>()
            + 64
    }
}
