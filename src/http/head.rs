//! The request head, parsed strictly (RFC 9112): httparse does the
//! tokenising, and what it tolerates that a server must not (bare LF line
//! ends, a missing or repeated `Host`, ambiguous body framing) is refused
//! here, each with its status.

use std::mem::MaybeUninit;

use crate::handshake::{Rejection, Request, RequestLimits};

/// How the body of a request is delimited (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// httparse wants a slice of header slots; this many live on the stack,
/// uninitialised, so the common head costs neither an allocation nor a
/// clearing of them.
const STACK_HEADERS: usize = 96;

/// Parses the head at the start of `buf`. `Ok(None)` means it has not
/// arrived in full (nothing is answered then, however it was split);
/// `Ok(Some((request, len)))` gives the head and its length in bytes. The
/// request's body is empty: the caller frames it with [`framing`].
pub fn parse_head<'b>(
    buf: &'b [u8],
    limits: &RequestLimits,
) -> Result<Option<(Request<'b>, usize)>, Rejection> {
    let mut stack = [const { MaybeUninit::<httparse::Header<'b>>::uninit() }; STACK_HEADERS];
    let mut heap = Vec::new();
    let slots: &mut [MaybeUninit<httparse::Header<'b>>] = if limits.max_headers <= STACK_HEADERS {
        &mut stack[..limits.max_headers]
    } else {
        heap.resize_with(limits.max_headers, MaybeUninit::uninit);
        &mut heap
    };
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, slots) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => {
            return if buf.len() > limits.max_bytes {
                Err(limits.head_too_large())
            } else {
                Ok(None)
            };
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Rejection::HeadTooLarge(
                format!("more than {} header lines", limits.max_headers).into(),
            ));
        }
        Err(httparse::Error::Version) => return Err(version_rejection(buf)),
        Err(e) => {
            return Err(Rejection::BadRequest(
                format!("malformed HTTP request: {e}").into(),
            ))
        }
    };
    if len > limits.max_bytes {
        return Err(limits.head_too_large());
    }
    if let Some(at) = bare_lf(&buf[..len], &req) {
        return Err(Rejection::BadRequest(
            format!("line ending at byte {at} is a bare LF: CRLF is required").into(),
        ));
    }
    let version = req.version.unwrap_or(1);
    let headers: Vec<(&'b str, &'b [u8])> = req.headers.iter().map(|h| (h.name, h.value)).collect();
    let request = Request {
        method: req.method.unwrap_or_default(),
        target: req.path.unwrap_or_default(),
        version,
        headers,
        body: &[],
    };
    check_host(&request)?;
    Ok(Some((request, len)))
}

/// httparse knows HTTP/1.0 and 1.1 only. A well-formed version it does not
/// know (`HTTP/9.9`, `HTTP/2.0`) gets 505; anything else where the version
/// should be (nothing at all, `HTTX/1.1`) is a malformed request line.
fn version_rejection(buf: &[u8]) -> Rejection {
    let line_end = memchr::memchr(b'\n', buf).unwrap_or(buf.len());
    let line = buf[..line_end]
        .strip_suffix(b"\r")
        .unwrap_or(&buf[..line_end]);
    // method SP target SP version, nothing more (RFC 9112 §3).
    let mut parts = line.split(|&b| b == b' ');
    let (_, _, version) = (parts.next(), parts.next(), parts.next().unwrap_or_default());
    let well_formed = parts.next().is_none()
        && matches!(version, [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit());
    if well_formed {
        Rejection::VersionNotSupported(
            format!(
                "{} is not supported: this server speaks HTTP/1.1 and HTTP/1.0",
                String::from_utf8_lossy(version)
            )
            .into(),
        )
    } else {
        Rejection::BadRequest("malformed request line: no HTTP version".into())
    }
}

/// The position of a LF not preceded by CR, if the head has one (httparse
/// accepts them; RFC 9112 §2.2 lets a server refuse them, and servers that
/// disagree on line ends are how requests get smuggled).
///
/// Each line's end is found from where httparse's slices end (the target,
/// each header value), so the head is not scanned byte by byte again; only
/// a head whose slices do not lie in it falls back to a scan.
fn bare_lf(head: &[u8], req: &httparse::Request<'_, '_>) -> Option<usize> {
    let scan = || memchr::memchr_iter(b'\n', head).find(|&at| at == 0 || head[at - 1] != b'\r');
    let cr_at = |at: usize| head.get(at) == Some(&b'\r');
    let (Some(method), Some(target)) = (req.method, req.path) else {
        return scan();
    };
    let (Some(method_at), Some(target_at)) = (
        offset_in(head, method.as_bytes()),
        offset_in(head, target.as_bytes()),
    ) else {
        return scan();
    };
    // Empty lines httparse skipped before the request line.
    if let Some(at) = head[..method_at]
        .iter()
        .enumerate()
        .find_map(|(i, &b)| (b == b'\n' && (i == 0 || head[i - 1] != b'\r')).then_some(i))
    {
        return Some(at);
    }
    // The request line: target, " HTTP/1.x", CRLF.
    let line_end = target_at + target.len() + " HTTP/1.1".len();
    if !cr_at(line_end) {
        return Some(line_end);
    }
    for header in req.headers.iter() {
        let Some(value_at) = offset_in(head, header.value) else {
            return scan();
        };
        // httparse trims trailing blanks off the value.
        let mut end = value_at + header.value.len();
        while matches!(head.get(end), Some(b' ' | b'\t')) {
            end += 1;
        }
        if !cr_at(end) {
            return Some(end);
        }
    }
    // The blank line that ends the head.
    (!cr_at(head.len() - 2)).then_some(head.len() - 1)
}

/// Where `part` starts within `whole`, when it is a slice of it.
fn offset_in(whole: &[u8], part: &[u8]) -> Option<usize> {
    let (start, at) = (whole.as_ptr() as usize, part.as_ptr() as usize);
    (at >= start && at + part.len() <= start + whole.len()).then(|| at - start)
}

/// HTTP/1.1 requires exactly one `Host` (RFC 9112 §3.2); HTTP/1.0 may omit
/// it, but not repeat it.
fn check_host(request: &Request<'_>) -> Result<(), Rejection> {
    let mut hosts = request
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("host"));
    match (hosts.next(), hosts.next()) {
        (None, _) if request.version >= 1 => {
            Err(Rejection::BadRequest("missing Host header".into()))
        }
        (Some(_), Some(_)) => Err(Rejection::BadRequest("more than one Host header".into())),
        _ => Ok(()),
    }
}

/// How the request's body is framed, refusing every ambiguity a proxy in
/// front could read differently (request smuggling, RFC 9112 §6.1 and
/// §6.3): `Transfer-Encoding` with `Content-Length`, a transfer coding other
/// than one final `chunked`, and a `Content-Length` that is not one
/// non-negative decimal number (repeats must agree).
pub fn framing(request: &Request<'_>) -> Result<Framing, Rejection> {
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut transfer_encoding = false;
    for (name, value) in &request.headers {
        if name.eq_ignore_ascii_case("content-length") {
            for part in value.split(|&b| b == b',') {
                let n = parse_content_length(trim(part))?;
                if length.is_some_and(|seen| seen != n) {
                    return Err(Rejection::BadRequest(
                        "Content-Length values disagree".into(),
                    ));
                }
                length = Some(n);
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            if request.version == 0 {
                return Err(Rejection::BadRequest(
                    "Transfer-Encoding is not allowed in an HTTP/1.0 request".into(),
                ));
            }
            transfer_encoding = true;
            for coding in value.split(|&b| b == b',').map(trim) {
                if coding.is_empty() {
                    continue;
                }
                if chunked {
                    // Something after chunked: the body's end is unknowable.
                    return Err(Rejection::BadRequest(
                        "chunked must be the final transfer coding".into(),
                    ));
                }
                if coding.eq_ignore_ascii_case(b"chunked") {
                    chunked = true;
                } else {
                    return Err(Rejection::BadRequest(
                        format!(
                            "transfer coding {:?} is not supported (only chunked)",
                            String::from_utf8_lossy(coding)
                        )
                        .into(),
                    ));
                }
            }
        }
    }
    match (transfer_encoding, chunked, length) {
        (true, _, Some(_)) => Err(Rejection::BadRequest(
            "Transfer-Encoding together with Content-Length".into(),
        )),
        (true, false, None) => Err(Rejection::BadRequest(
            "chunked must be the final transfer coding".into(),
        )),
        (true, true, None) => Ok(Framing::Chunked),
        (false, _, Some(0)) | (false, _, None) => Ok(Framing::Empty),
        (false, _, Some(n)) => Ok(Framing::Length(n)),
    }
}

fn parse_content_length(digits: &[u8]) -> Result<u64, Rejection> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(Rejection::BadRequest(
            format!(
                "Content-Length {:?} is not a non-negative decimal number",
                String::from_utf8_lossy(digits)
            )
            .into(),
        ));
    }
    digits.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d - b'0')))
            .ok_or_else(|| Rejection::BadRequest("Content-Length overflows".into()))
    })
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// Whether the connection stays open after this request: HTTP/1.1 unless it
/// says `Connection: close`, HTTP/1.0 only when it asks for keep-alive.
pub fn keeps_alive(request: &Request<'_>) -> bool {
    let says = |token: &str| {
        request.headers.iter().any(|(name, value)| {
            name.eq_ignore_ascii_case("connection")
                && std::str::from_utf8(value).is_ok_and(|v| crate::handshake::has_token(v, token))
        })
    };
    if request.version >= 1 {
        !says("close")
    } else {
        says("keep-alive")
    }
}

/// Whether the client waits for `100 Continue` before sending its body.
pub fn expects_continue(request: &Request<'_>) -> bool {
    request.version >= 1
        && request
            .header("Expect")
            .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
}
