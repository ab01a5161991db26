//! Starting a server: one listener, poll and waker per worker thread.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use mio::net::TcpListener;
use mio::{Interest, Poll, Waker};

use super::client::{ClientError, ClientOptions};
use super::config::{ClientConfig, ServerConfig};
use super::handle::{ConnId, Mailbox, ServerHandle};
use super::handler::Handler;
use super::listener::bind_reuseport;
use super::worker::{Worker, LISTENER, WAKER};

/// A running server. Dropping it does not stop it: call
/// [`ServerHandle::shutdown`], then [`Server::join`].
pub struct Server {
    handle: ServerHandle,
    threads: Vec<JoinHandle<()>>,
    local_addr: SocketAddr,
}

impl Server {
    /// Binds every worker's listener and starts the workers. `factory`
    /// builds each worker's handler on that worker's thread, so handlers
    /// need not be `Send` or `Sync`.
    pub fn start<H, F>(config: ServerConfig, factory: F) -> io::Result<Server>
    where
        H: Handler + 'static,
        F: Fn(usize, &ServerHandle) -> H + Send + Sync + 'static,
    {
        let workers = config.workers.max(1);
        // Only this server's workers may share the port.
        super::listener::claim(config.addr)?;
        let first = bind_reuseport(config.addr, config.backlog)?;
        // With port 0 the first bind picks the port; the others share it.
        let local_addr = first.local_addr()?;
        let mut listeners = vec![first];
        for _ in 1..workers {
            listeners.push(bind_reuseport(local_addr, config.backlog)?);
        }
        let listeners = listeners.into_iter().map(Some).collect();
        #[cfg(feature = "redis")]
        let redis = config.redis.clone();
        let (handle, threads) = spawn_workers(listeners, config, factory)?;
        #[cfg(feature = "redis")]
        if let Some(url) = redis {
            crate::cluster::attach(&handle, &url)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        }
        log::info!("listening on {local_addr} with {workers} worker(s)");
        Ok(Server {
            handle,
            threads,
            local_addr,
        })
    }

    /// A handle for reaching the workers from any thread.
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// The address it listens on (with the port the system picked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Waits for every worker to exit (after a shutdown).
    pub fn join(self) {
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

/// The engine as a client: workers without listeners, connections opened
/// with [`Client::connect`] (or [`ServerHandle::connect`]) and run by the
/// same loops, buffers and handler callbacks as a server's.
pub struct Client {
    handle: ServerHandle,
    threads: Vec<JoinHandle<()>>,
}

impl Client {
    /// Starts `config.workers` event loops. `factory` builds each loop's
    /// handler on that loop's thread.
    pub fn start<H, F>(config: ClientConfig, factory: F) -> io::Result<Client>
    where
        H: Handler + 'static,
        F: Fn(usize, &ServerHandle) -> H + Send + Sync + 'static,
    {
        let listeners = (0..config.workers.max(1)).map(|_| None).collect();
        let (handle, threads) = spawn_workers(listeners, config.loops(), factory)?;
        Ok(Client { handle, threads })
    }

    /// Opens a connection; see [`ServerHandle::connect`].
    pub fn connect(&self, url: &str, options: ClientOptions) -> Result<ConnId, ClientError> {
        self.handle.connect(url, options)
    }

    /// A handle for reaching the client loops from any thread.
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// Closes every connection (1001) and waits for the workers to exit.
    pub fn shutdown(self) {
        self.handle.shutdown();
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

/// One poll, waker and thread per listener slot (`None` for clients).
fn spawn_workers<H, F>(
    listeners: Vec<Option<TcpListener>>,
    config: ServerConfig,
    factory: F,
) -> io::Result<(ServerHandle, Vec<JoinHandle<()>>)>
where
    H: Handler + 'static,
    F: Fn(usize, &ServerHandle) -> H + Send + Sync + 'static,
{
    let mut polls = Vec::with_capacity(listeners.len());
    let mut mailboxes = Vec::with_capacity(listeners.len());
    let mut listeners = listeners;
    for listener in listeners.iter_mut() {
        let poll = Poll::new()?;
        if let Some(listener) = listener {
            poll.registry()
                .register(listener, LISTENER, Interest::READABLE)?;
        }
        let waker = Waker::new(poll.registry(), WAKER)?;
        mailboxes.push(Mailbox::new(waker, config.mailbox_limit));
        polls.push(poll);
    }
    let handle = ServerHandle::new(mailboxes);
    let config = Arc::new(config);
    let factory = Arc::new(factory);
    let mut threads = Vec::with_capacity(polls.len());
    for (index, (poll, listener)) in polls.into_iter().zip(listeners).enumerate() {
        let handle = handle.clone();
        let config = config.clone();
        let factory = factory.clone();
        let thread = std::thread::Builder::new()
            .name(format!("simdws-worker-{index}"))
            .spawn(move || {
                let handler = factory(index, &handle);
                Worker::new(index, poll, listener, handler, handle, config).run();
            })?;
        threads.push(thread);
    }
    Ok((handle, threads))
}
