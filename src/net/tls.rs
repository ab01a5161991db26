//! TLS (wss://) with rustls used sans-IO: [`TlsStream`] moves records
//! between a socket and a `rustls::Connection` (`read_tls`,
//! `process_new_packets`, `write_tls`) and never blocks a non-blocking
//! socket. Also here: server configurations from PEM files or a generated
//! self-signed certificate, and client configurations with a trust store.

use std::fmt;
use std::io::{self, IoSlice, Read, Write};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};

/// What a TLS port answers a client that sent plain HTTP, as nginx does.
pub(crate) const PLAIN_HTTP_RESPONSE: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 57\r\nConnection: close\r\n\r\nthis port speaks TLS: use https:// or wss:// to reach it\n";

/// The peer sent bytes that are not a TLS record where a ClientHello
/// belongs (typically plain HTTP to the TLS port).
#[derive(Debug)]
pub struct NotTls;

impl fmt::Display for NotTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("plain-text bytes on a TLS port (not a TLS handshake)")
    }
}

impl std::error::Error for NotTls {}

/// Whether an I/O error is [`NotTls`].
pub fn is_not_tls(error: &io::Error) -> bool {
    error.get_ref().is_some_and(|e| e.is::<NotTls>())
}

/// The first byte of a TLS handshake record.
const HANDSHAKE_RECORD: u8 = 0x16;

/// TLS over a socket `S`, blocking or not.
pub struct TlsStream<S> {
    socket: S,
    tls: rustls::Connection,
    /// Edge-triggered loops need every read to go on until the socket
    /// would block (no new edge announces bytes already there); a blocking
    /// socket must instead return as soon as there is plaintext.
    drain_socket: bool,
    /// The socket reached end of stream.
    eof: bool,
    /// Server side, until the first byte has been checked for TLS.
    sniff_first_byte: bool,
}

impl<S> TlsStream<S> {
    /// The socket under the TLS session.
    pub fn socket(&self) -> &S {
        &self.socket
    }

    /// The socket under the TLS session, for registration and options.
    pub fn socket_mut(&mut self) -> &mut S {
        &mut self.socket
    }
}

impl<S: Read + Write> TlsStream<S> {
    /// The server end over an accepted socket of an event loop.
    pub fn server(socket: S, config: Arc<ServerConfig>) -> io::Result<Self> {
        let tls = ServerConnection::new(config).map_err(io::Error::other)?;
        Ok(TlsStream {
            socket,
            tls: tls.into(),
            drain_socket: true,
            eof: false,
            sniff_first_byte: true,
        })
    }

    /// The client end for `host` (sent as SNI and checked against the
    /// certificate). `drain_socket` is true for non-blocking sockets.
    pub fn client(
        socket: S,
        config: Arc<ClientConfig>,
        host: &str,
        drain_socket: bool,
    ) -> io::Result<Self> {
        let name = ServerName::try_from(host.to_string()).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("TLS server name {host:?}: {e}"),
            )
        })?;
        let tls = ClientConnection::new(config, name).map_err(io::Error::other)?;
        Ok(TlsStream {
            socket,
            tls: tls.into(),
            drain_socket,
            eof: false,
            sniff_first_byte: false,
        })
    }

    /// Whether the TLS handshake is still running.
    pub fn is_handshaking(&self) -> bool {
        self.tls.is_handshaking()
    }

    /// The ALPN protocol agreed, if any.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.tls.alpn_protocol()
    }

    /// Writes queued TLS records; true when none are left.
    pub fn flush_records(&mut self) -> io::Result<bool> {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.socket) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Queues TLS's close_notify, the orderly end of the session.
    pub fn send_close_notify(&mut self) {
        self.tls.send_close_notify();
        let _ = self.flush_records();
    }

    /// One socket read into rustls, then decryption; handshake answers and
    /// alerts go out at once. Returns the socket bytes read (0: end).
    fn read_records(&mut self) -> io::Result<usize> {
        if self.sniff_first_byte {
            let mut first = [0u8; 1];
            if self.socket.read(&mut first)? == 0 {
                return Ok(0);
            }
            self.sniff_first_byte = false;
            if first[0] != HANDSHAKE_RECORD {
                return Err(io::Error::new(io::ErrorKind::InvalidData, NotTls));
            }
            self.tls.read_tls(&mut &first[..])?;
        }
        let n = self.tls.read_tls(&mut self.socket)?;
        let processed = self.tls.process_new_packets();
        // Handshake messages, or the alert that explains a failure.
        let _ = self.flush_records();
        processed.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        Ok(n)
    }
}

impl<S: Read + Write> Read for TlsStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        loop {
            match self.tls.reader().read(&mut buf[filled..]) {
                Ok(0) => return Ok(filled), // close_notify: the stream ends
                Ok(n) => {
                    filled += n;
                    if filled == buf.len() {
                        return Ok(filled);
                    }
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // Return the plaintext now; the error comes again next time.
                Err(_) if filled > 0 => return Ok(filled),
                Err(e) => return Err(e),
            }
            if self.eof || (filled > 0 && !self.drain_socket) {
                return Ok(filled);
            }
            match self.read_records() {
                Ok(0) => self.eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && filled > 0 => return Ok(filled),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl<S: Read + Write> Write for TlsStream<S> {
    /// Encrypts as much of `buf` as rustls buffers (64 KiB by default) and
    /// sends what the socket takes; `WouldBlock` when records are backed up.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.flush_records()?;
        let n = self.tls.writer().write_vectored(bufs)?;
        if n == 0 && bufs.iter().any(|b| !b.is_empty()) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.flush_records()?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.flush_records()? {
            self.socket.flush()
        } else {
            Err(io::ErrorKind::WouldBlock.into())
        }
    }
}

// ----- configurations ---------------------------------------------------------

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Why a TLS configuration could not be built.
#[derive(Debug)]
pub struct TlsConfigError(pub String);

impl fmt::Display for TlsConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsConfigError {}

/// A server configuration for a certificate chain and its key, with ALPN
/// `http/1.1`.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsConfigError> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsConfigError(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsConfigError(format!("certificate and key: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A server configuration from PEM files: a certificate chain and a key.
pub fn server_config_from_pem(
    cert_file: &Path,
    key_file: &Path,
) -> Result<Arc<ServerConfig>, TlsConfigError> {
    let chain = CertificateDer::pem_file_iter(cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsConfigError(format!("{}: {e}", cert_file.display())))?;
    if chain.is_empty() {
        return Err(TlsConfigError(format!(
            "{}: no certificate in it",
            cert_file.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| TlsConfigError(format!("{}: {e}", key_file.display())))?;
    server_config(chain, key)
}

/// A certificate generated at start-up.
pub struct SelfSigned {
    /// A server configuration presenting the certificate.
    pub config: Arc<ServerConfig>,
    /// The certificate, PEM, for clients to trust.
    pub cert_pem: String,
    /// The private key, PEM.
    pub key_pem: String,
    /// SHA-256 of the certificate (DER), as `AB:CD:...`.
    pub fingerprint: String,
}

/// Generates a self-signed certificate for `names` (e.g. `localhost`,
/// `127.0.0.1`) and a server configuration for it.
pub fn self_signed(names: &[&str]) -> Result<SelfSigned, TlsConfigError> {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let generated =
        rcgen::generate_simple_self_signed(names).map_err(|e| TlsConfigError(e.to_string()))?;
    let cert_der = generated.cert.der().clone();
    let fingerprint = ring::digest::digest(&ring::digest::SHA256, &cert_der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    let key = PrivateKeyDer::try_from(generated.signing_key.serialize_der())
        .map_err(|e| TlsConfigError(e.to_string()))?;
    Ok(SelfSigned {
        config: server_config(vec![cert_der], key)?,
        cert_pem: generated.cert.pem(),
        key_pem: generated.signing_key.serialize_pem(),
        fingerprint,
    })
}

/// A client configuration trusting `roots`, with ALPN `http/1.1`.
pub fn client_config(roots: RootCertStore) -> Arc<ClientConfig> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// The configuration `wss://` uses unless told otherwise: Mozilla's roots
/// (`webpki-roots`), built once.
pub fn default_client_config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            client_config(roots)
        })
        .clone()
}

/// A client configuration that trusts only the certificates in a PEM
/// file or string (a private CA, or a self-signed server certificate).
pub fn client_config_trusting_pem(pem: &[u8]) -> Result<Arc<ClientConfig>, TlsConfigError> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| TlsConfigError(format!("PEM: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| TlsConfigError(format!("certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(TlsConfigError("no certificate in the PEM data".into()));
    }
    Ok(client_config(roots))
}
