//! The last step: one request for a variant through the distribution, as a visitor makes it.
//! `curl` does the HTTPS (it is on every machine that has the aws CLI); the reading of its
//! answer is pure.
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// What one request answered.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    pub status: u16,
    /// CloudFront's `x-cache` (`Miss from cloudfront`, `Hit from cloudfront`, `Error from …`).
    pub x_cache: String,
    pub content_type: String,
    pub bytes: u64,
    pub millis: u64,
}

impl Probe {
    pub fn line(&self) -> String {
        format!(
            "{} {}, {} bytes in {} ms, x-cache: {}",
            self.status,
            if self.content_type.is_empty() {
                "(no content type)"
            } else {
                &self.content_type
            },
            self.bytes,
            self.millis,
            if self.x_cache.is_empty() {
                "(none)"
            } else {
                &self.x_cache
            }
        )
    }
}

/// The `-w` format after the headers curl prints with `-D -`.
const WRITE_OUT: &str = "\n%{http_code} %{size_download} %{time_total}\n";

/// Reads curl's output: the header blocks (a redirect gives several; the last counts), then the
/// `WRITE_OUT` line.
pub fn read_curl(text: &str) -> Result<Probe> {
    let mut lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let last = lines.pop().context("curl printed nothing")?;
    let mut nums = last.split_whitespace();
    let status: u16 = nums
        .next()
        .and_then(|n| n.parse().ok())
        .context("no status from curl")?;
    let bytes: u64 = nums.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    let secs: f64 = nums.next().and_then(|n| n.parse().ok()).unwrap_or(0.0);
    let block_start = lines
        .iter()
        .rposition(|l| l.starts_with("HTTP/"))
        .unwrap_or(0);
    let header = |name: &str| {
        lines[block_start..]
            .iter()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    Ok(Probe {
        status,
        x_cache: header("x-cache"),
        content_type: header("content-type"),
        bytes,
        millis: (secs * 1000.0).round() as u64,
    })
}

/// One GET of `url` (body discarded), with a 60 s limit.
pub fn probe(url: &str) -> Result<Probe> {
    let out = Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-D",
            "-",
            "--max-time",
            "60",
            "-w",
            WRITE_OUT,
            url,
        ])
        .output()
        .context("running curl (install curl, or check the URL yourself)")?;
    if !out.status.success() {
        bail!(
            "curl {url}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    read_curl(&String::from_utf8_lossy(&out.stdout))
}

/// [`probe`], retried while the new distribution's name is not yet in DNS or it answers 5xx
/// (a new distribution can take a few minutes to answer everywhere).
pub fn probe_with_retries(url: &str, say: &mut dyn FnMut(&str)) -> Result<Probe> {
    let mut tries = 0;
    loop {
        tries += 1;
        match probe(url) {
            Ok(p) if p.status < 500 || tries >= 4 => return Ok(p),
            Err(e) if tries >= 4 => return Err(e),
            Ok(p) => say(&format!("  {} — trying again in 20 s", p.line())),
            Err(e) => say(&format!("  {e:#} — trying again in 20 s")),
        }
        std::thread::sleep(Duration::from_secs(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn reads_the_last_response() {
        let text = "HTTP/2 200 \r\ncontent-type: image/webp\r\nx-cache: Miss from cloudfront\r\nvia: 1.1 x.cloudfront.net (CloudFront)\r\n\r\n\n200 31337 0.512345\n";
        let p = read_curl(text).unwrap();
        assert_eq!(
            p,
            Probe {
                status: 200,
                x_cache: "Miss from cloudfront".into(),
                content_type: "image/webp".into(),
                bytes: 31337,
                millis: 512
            }
        );
        assert!(p.line().contains("x-cache: Miss from cloudfront"));
        let redirected = "HTTP/1.1 302 Found\r\nlocation: /x\r\nx-cache: Redirect from cloudfront\r\n\r\nHTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\n\r\n\n404 9 0.1\n";
        let p = read_curl(redirected).unwrap();
        assert_eq!((p.status, p.x_cache.as_str()), (404, ""));
        assert!(read_curl("").is_err());
    }

    #[test]
    fn probes_a_real_server() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = [0u8; 2048];
            let n = conn.read(&mut buf).unwrap();
            assert!(String::from_utf8_lossy(&buf[..n]).starts_with("GET /a.jpg?w=600 HTTP/1.1"));
            conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: image/avif\r\nx-cache: Hit from cloudfront\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello").unwrap();
        });
        let p = probe(&format!("http://127.0.0.1:{port}/a.jpg?w=600")).unwrap();
        server.join().unwrap();
        assert_eq!(
            (
                p.status,
                p.bytes,
                p.x_cache.as_str(),
                p.content_type.as_str()
            ),
            (200, 5, "Hit from cloudfront", "image/avif")
        );
    }
}
