//! `licwatch serve`: builds the runtime, turns signals into daemon controls,
//! and runs the daemon.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use anyhow::Context as _;
use clap::Args;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::{Context, http};
use crate::daemon::{self, Control, Settings};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Run one tick (with --today: as if it were that day), deliver, exit.
    #[arg(long)]
    once: bool,
}

pub fn serve(ctx: &Context, args: ServeArgs) -> anyhow::Result<()> {
    let config = ctx.config()?;
    let today = match &ctx.today {
        Some(_) if !args.once => {
            anyhow::bail!("--today: only with serve --once (a running daemon follows the clock)")
        }
        Some(_) => Some(ctx.today()?),
        None => None,
    };
    let settings = Settings {
        db: ctx.db.clone(),
        once: args.once,
        today,
        config_source: ctx.config_source(),
        clock: Arc::new(daemon::clock::SystemClock),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    // The listener shares the config in force with the daemon: a reload
    // replaces it for both.
    let shared_config = Arc::new(RwLock::new(Arc::new(config.clone())));
    runtime.block_on(async {
        if let (Some(addr), false) = (config.http.listen, args.once) {
            let shared = http::Shared::new(ctx.db.clone(), shared_config.clone())?;
            let listener = http::bind(addr).await?;
            tokio::spawn(http::serve(listener, shared));
        }
        let (controls, receiver) = mpsc::unbounded_channel();
        let stop = Arc::new(AtomicBool::new(false));
        let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        let mut interrupt = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
        let mut hangup = signal(SignalKind::hangup()).context("listening for SIGHUP")?;
        let config_path = ctx.config_path.clone();
        let shared_config = shared_config.clone();
        let signals = {
            let stop = stop.clone();
            async move {
                loop {
                    let control = tokio::select! {
                        _ = terminate.recv() => None,
                        _ = interrupt.recv() => None,
                        _ = hangup.recv() => Some(match &config_path {
                            Some(path) => match crate::config::Config::load(path) {
                                Ok(config) => {
                                    super::log::set_zone(config.schedule.time_zone);
                                    *shared_config
                                        .write()
                                        .unwrap_or_else(|poisoned| poisoned.into_inner()) =
                                        Arc::new(config.clone());
                                    Control::Reload(Box::new(config))
                                }
                                Err(e) => Control::ReloadFailed(format!("{e:#}")),
                            },
                            None => Control::Reload(Box::new(crate::config::Config::defaults())),
                        }),
                    };
                    let Some(control) = control else {
                        tracing::info!("stopping: finishing the send in flight");
                        stop.store(true, Ordering::SeqCst);
                        let _ = controls.send(Control::Shutdown);
                        return;
                    };
                    if controls.send(control).is_err() {
                        return;
                    }
                }
            }
        };
        tokio::spawn(signals);
        daemon::run(settings, config, receiver, stop).await
    })
}
