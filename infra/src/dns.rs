//! A tiny DNS stub resolver: one UDP question (RFC 1035 §4) to the system's resolver, for what
//! `doctor` needs to know about the site's own domain — the CNAME chain and the addresses a name
//! leads to. `std::net::ToSocketAddrs` (getaddrinfo) gives addresses only, never the CNAMEs, and
//! `dig` is not everywhere; a recursive resolver answers an `A` question with the whole chain
//! (`images.example.com CNAME d111.cloudfront.net`, then its `A` records), which this reads.
//!
//! The resolver is `$SCALEFRONT_RESOLVER` (`IP` or `IP:PORT`) or the first `nameserver` of
//! `/etc/resolv.conf`. Its answers become doctor facts ([`crate::doctor::domain::Lookup`]), so the
//! checks run on recorded answers.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::Duration;

pub const TYPE_A: u16 = 1;
pub const TYPE_CNAME: u16 = 5;
pub const TYPE_AAAA: u16 = 28;

/// What the resolver said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    /// RCODE: 0 no error, 2 server failure, 3 no such name (NXDOMAIN), 5 refused.
    pub rcode: u8,
    /// CNAME targets in the order of the answer section (the chain from the name asked).
    pub cnames: Vec<String>,
    pub addresses: Vec<IpAddr>,
}

impl Answer {
    /// The RCODE in words, `None` for "no error".
    pub fn error(&self) -> Option<String> {
        match self.rcode {
            0 => None,
            2 => Some("SERVFAIL (the resolver could not get an answer)".into()),
            3 => Some("NXDOMAIN (no such name)".into()),
            5 => Some("REFUSED by the resolver".into()),
            n => Some(format!("DNS error code {n}")),
        }
    }
}

/// The query message for `name` (recursion desired).
pub fn encode_query(id: u16, name: &str, qtype: u16) -> Result<Vec<u8>, String> {
    let mut m = Vec::with_capacity(32 + name.len());
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    m.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // QDCOUNT 1
    let name = name.trim_end_matches('.');
    if name.len() > 253 {
        return Err(format!("{name} is longer than 253 characters"));
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("{name}: label {label:?} is empty or over 63 bytes"));
        }
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.push(0);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes()); // IN
    Ok(m)
}

fn u16_at(m: &[u8], i: usize) -> Result<u16, String> {
    m.get(i..i + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or_else(|| "truncated DNS message".to_owned())
}

/// Reads a (possibly compressed) name at `i`; returns it and the offset after it in place.
fn read_name(m: &[u8], mut i: usize) -> Result<(String, usize), String> {
    let mut labels: Vec<String> = Vec::new();
    let mut end = None;
    let mut jumps = 0;
    loop {
        let len = *m.get(i).ok_or("truncated name")? as usize;
        match len & 0xC0 {
            0x00 if len == 0 => {
                end.get_or_insert(i + 1);
                break;
            }
            0x00 => {
                let label = m.get(i + 1..i + 1 + len).ok_or("truncated label")?;
                labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
                if labels.iter().map(|l| l.len() + 1).sum::<usize>() > 255 {
                    return Err("name over 255 bytes".into());
                }
                i += 1 + len;
            }
            0xC0 => {
                jumps += 1;
                if jumps > 32 {
                    return Err("compression loop".into());
                }
                end.get_or_insert(i + 2);
                i = (u16_at(m, i)? & 0x3FFF) as usize;
            }
            _ => return Err("unknown label type".into()),
        }
    }
    Ok((labels.join("."), end.unwrap_or(i)))
}

/// Reads a response to query `id`: its RCODE, CNAMEs and addresses.
pub fn parse_response(id: u16, m: &[u8]) -> Result<Answer, String> {
    if u16_at(m, 0)? != id {
        return Err("answer to another question".into());
    }
    let flags = u16_at(m, 2)?;
    if flags & 0x8000 == 0 {
        return Err("not a response".into());
    }
    let (qd, an) = (u16_at(m, 4)?, u16_at(m, 6)?);
    let mut i = 12;
    for _ in 0..qd {
        i = read_name(m, i)?.1 + 4;
    }
    let mut a = Answer {
        rcode: (flags & 0x000F) as u8,
        ..Answer::default()
    };
    for _ in 0..an {
        let (_, after) = read_name(m, i)?;
        let (kind, len) = (u16_at(m, after)?, u16_at(m, after + 8)? as usize);
        let data = after + 10;
        let rdata = m.get(data..data + len).ok_or("truncated record")?;
        match (kind, len) {
            (TYPE_A, 4) => a.addresses.push(IpAddr::V4(Ipv4Addr::new(
                rdata[0], rdata[1], rdata[2], rdata[3],
            ))),
            (TYPE_AAAA, 16) => {
                let b: [u8; 16] = rdata.try_into().expect("16 bytes");
                a.addresses.push(IpAddr::V6(Ipv6Addr::from(b)));
            }
            (TYPE_CNAME, _) => a.cnames.push(read_name(m, data)?.0),
            _ => {}
        }
        i = data + len;
    }
    Ok(a)
}

/// The resolver to ask: `$SCALEFRONT_RESOLVER`, else the first `nameserver` in /etc/resolv.conf.
pub fn system_resolver() -> Option<SocketAddr> {
    let parse = |s: &str| -> Option<SocketAddr> {
        let s = s.trim();
        s.parse::<SocketAddr>()
            .ok()
            .or_else(|| s.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 53)))
    };
    if let Ok(s) = std::env::var("SCALEFRONT_RESOLVER") {
        return parse(&s);
    }
    let conf = std::fs::read_to_string("/etc/resolv.conf").ok()?;
    conf.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .find_map(|s| parse(s.split('%').next().unwrap_or(s)))
}

/// Asks `server` for `qtype` records of `name`: up to three tries of `timeout` each.
pub fn query(
    server: SocketAddr,
    name: &str,
    qtype: u16,
    timeout: Duration,
) -> Result<Answer, String> {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos()
        ^ std::process::id().rotate_left(16);
    let id = (seed ^ (seed >> 16)) as u16;
    let msg = encode_query(id, name, qtype)?;
    let local: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = UdpSocket::bind(local).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let mut last = String::new();
    let mut unreadable: Option<String> = None;
    for _ in 0..3 {
        sock.send_to(&msg, server).map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4096];
        loop {
            match sock.recv_from(&mut buf) {
                Ok((n, from)) if from == server => match parse_response(id, &buf[..n]) {
                    Ok(a) => return Ok(a),
                    // A late answer to an earlier try, or garbage: keep listening.
                    Err(e) => unreadable = Some(e),
                },
                Ok(_) => continue, // someone else's packet
                Err(e) => {
                    last = format!(
                        "no answer from {server} in {timeout:?} ({e}){}",
                        unreadable
                            .as_ref()
                            .map(|u| format!("; one unreadable answer: {u}"))
                            .unwrap_or_default()
                    );
                    break;
                }
            }
        }
    }
    Err(last)
}

/// [`query`] for `A` records through [`system_resolver`].
pub fn lookup(name: &str) -> Result<(SocketAddr, Answer), String> {
    let server = system_resolver()
        .ok_or("no DNS resolver: /etc/resolv.conf names none (set SCALEFRONT_RESOLVER=IP)")?;
    query(server, name, TYPE_A, Duration::from_secs(2)).map(|a| (server, a))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response as a recursive resolver gives it: the question, a CNAME, two A records, with
    /// compression pointers back into the question and into the CNAME's data.
    fn response(id: u16, rcode: u8) -> Vec<u8> {
        let q = encode_query(id, "images.example.com", TYPE_A).unwrap();
        let mut m = q.clone();
        m[2] = 0x81;
        m[3] = 0x80 | rcode;
        if rcode != 0 {
            return m;
        }
        m[7] = 3; // ANCOUNT
                  // images.example.com (pointer to 12) CNAME d111111abcdef8.cloudfront.net
        m.extend_from_slice(&[0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 60]);
        let target_at = m.len() + 2;
        let mut rdata = vec![14];
        rdata.extend_from_slice(b"d111111abcdef8");
        rdata.push(10);
        rdata.extend_from_slice(b"cloudfront");
        rdata.push(3);
        rdata.extend_from_slice(b"net");
        rdata.push(0);
        m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        m.extend_from_slice(&rdata);
        for ip in [[13, 224, 0, 1], [13, 224, 0, 2]] {
            m.extend_from_slice(&[0xC0, target_at as u8, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
            m.extend_from_slice(&ip);
        }
        m
    }

    #[test]
    fn reads_a_cname_chain_and_addresses() {
        let a = parse_response(7, &response(7, 0)).unwrap();
        assert_eq!(a.rcode, 0);
        assert_eq!(a.cnames, ["d111111abcdef8.cloudfront.net"]);
        assert_eq!(
            a.addresses,
            [
                "13.224.0.1".parse::<IpAddr>().unwrap(),
                "13.224.0.2".parse().unwrap()
            ]
        );
        assert_eq!(a.error(), None);
        let nx = parse_response(7, &response(7, 3)).unwrap();
        assert!(nx.error().unwrap().contains("NXDOMAIN"));
        assert!(parse_response(8, &response(7, 0)).is_err());
        // Truncated and looping messages are errors, not panics.
        let r = response(7, 0);
        for n in 0..r.len() {
            let _ = parse_response(7, &r[..n]);
        }
        let mut looped = encode_query(7, "a.b", TYPE_A).unwrap();
        looped[2] = 0x81;
        looped[12] = 0xC0;
        looped[13] = 12;
        assert!(parse_response(7, &looped).is_err());
        assert!(encode_query(1, &format!("{}.com", "a".repeat(64)), TYPE_A).is_err());
    }

    #[test]
    fn asks_a_resolver_over_udp() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            let (n, from) = server.recv_from(&mut buf).unwrap();
            let id = u16::from_be_bytes([buf[0], buf[1]]);
            // The question as sent: images.example.com, A, IN.
            assert_eq!(
                &buf[12..n],
                &encode_query(id, "images.example.com", TYPE_A).unwrap()[12..]
            );
            server.send_to(&response(id, 0), from).unwrap();
        });
        let a = query(addr, "images.example.com.", TYPE_A, Duration::from_secs(5)).unwrap();
        t.join().unwrap();
        assert_eq!(a.cnames, ["d111111abcdef8.cloudfront.net"]);
        assert_eq!(a.addresses.len(), 2);
        // Nobody answering: an error naming the resolver, after the tries.
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let e = query(
            silent.local_addr().unwrap(),
            "images.example.com",
            TYPE_A,
            Duration::from_millis(50),
        )
        .unwrap_err();
        assert!(e.contains("no answer from 127.0.0.1"), "{e}");
    }
}
