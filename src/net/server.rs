//! Starting a server: one listener, poll and waker per worker thread.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use mio::{Interest, Poll, Waker};

use super::config::ServerConfig;
use super::handle::{Mailbox, ServerHandle};
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
        let first = bind_reuseport(config.addr, config.backlog)?;
        // With port 0 the first bind picks the port; the others share it.
        let local_addr = first.local_addr()?;
        let mut listeners = vec![first];
        for _ in 1..workers {
            listeners.push(bind_reuseport(local_addr, config.backlog)?);
        }
        let mut polls = Vec::with_capacity(workers);
        let mut mailboxes = Vec::with_capacity(workers);
        for listener in &mut listeners {
            let poll = Poll::new()?;
            poll.registry()
                .register(listener, LISTENER, Interest::READABLE)?;
            let waker = Waker::new(poll.registry(), WAKER)?;
            mailboxes.push(Mailbox {
                queue: Mutex::new(Vec::new()),
                waker,
            });
            polls.push(poll);
        }
        let handle = ServerHandle::new(mailboxes);
        let config = Arc::new(config);
        let factory = Arc::new(factory);
        let mut threads = Vec::with_capacity(workers);
        for (index, (poll, listener)) in polls.into_iter().zip(listeners).enumerate() {
            let handle = handle.clone();
            let config = config.clone();
            let factory = factory.clone();
            let thread = std::thread::Builder::new()
                .name(format!("simdws-worker-{index}"))
                .spawn(move || {
                    let handler = factory(index, &handle);
                    Worker::new(index, poll, Some(listener), handler, handle, config).run();
                })?;
            threads.push(thread);
        }
        log::info!("listening on ws://{local_addr} with {workers} worker(s)");
        Ok(Server {
            handle,
            threads,
            local_addr,
        })
    }

    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

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
