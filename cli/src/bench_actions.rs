//! `switchboard bench actions`: what an action costs beside a plain webhook delivery. One tenant
//! gets one webhook (event type `bench.hook`) and one `twilio_sms` action (`bench.act`), both
//! received by the driver's loopback receiver (serve's Twilio base URL names its port). Rounds
//! alternate: N events to the webhook, then N to the action, each timed from the first publish
//! to the last request received.

use crate::bench::{Setup, post, publish_typed, setup_on, wait_for};
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// One run's settings.
pub struct Run<'a> {
    pub base: &'a str,
    pub root_key: &'a str,
    pub events: usize,
    pub receiver_port: u16,
    pub concurrency: usize,
    pub rounds: usize,
}

impl Run<'_> {
    pub async fn go(&self) -> Result<()> {
        let setup = setup_on(
            self.base,
            self.root_key,
            "bench actions",
            self.concurrency,
            self.receiver_port,
        )
        .await?;
        let base = self.base;
        post(
            &setup.http,
            format!("{base}/v1/webhooks"),
            &setup.key,
            json!({"url": format!("{}/hook", setup.receiver_url), "event_types": ["bench.hook"]}),
        )
        .await?;
        let connection = post(
            &setup.http,
            format!("{base}/v1/connections"),
            &setup.key,
            json!({"provider": "twilio", "name": "bench",
                   "credentials": {"account_sid": "AC0123456789abcdef0123456789abcdef",
                                   "auth_token": "bench-auth-token-0123456789"}}),
        )
        .await?;
        let connection_id = connection["id"].as_str().ok_or("no connection id")?;
        post(
            &setup.http,
            format!("{base}/v1/actions"),
            &setup.key,
            json!({"connection_id": connection_id, "kind": "twilio_sms",
                   "event_types": ["bench.act"],
                   "template": {"to": "+1555{{ event.data.i }}", "from": "+15550000000",
                                "body": "Order {{ event.id }}: {{ event.data.pad | length }} items"}}),
        )
        .await?;

        let (mut hook_time, mut action_time) = (Duration::ZERO, Duration::ZERO);
        for round in 1..=self.rounds {
            let hooks = self.timed(&setup, "bench.hook").await?;
            let actions = self.timed(&setup, "bench.act").await?;
            println!(
                "actions, round {round}: {} events -> webhook {:.0} deliveries/s, twilio_sms action {:.0} actions/s",
                self.events,
                self.events as f64 / hooks.as_secs_f64(),
                self.events as f64 / actions.as_secs_f64(),
            );
            hook_time += hooks;
            action_time += actions;
        }
        let total = (self.events * self.rounds) as f64;
        println!(
            "actions: webhook {:.0} deliveries/s, twilio_sms {:.0} actions/s; an action costs {:.2}x a webhook delivery (target <= 1.3x)",
            total / hook_time.as_secs_f64(),
            total / action_time.as_secs_f64(),
            action_time.as_secs_f64() / hook_time.as_secs_f64(),
        );
        Ok(())
    }

    /// Publishes the run's events of `event_type` and waits until the receiver has had one
    /// request for each.
    async fn timed(&self, setup: &Setup, event_type: &str) -> Result<Duration> {
        let expected = setup.tally.received.load(Ordering::Relaxed) + self.events as u64;
        let started = Instant::now();
        publish_typed(
            &setup.http,
            self.base,
            &setup.key,
            event_type,
            self.events,
            self.concurrency,
            None,
        )
        .await?;
        let done = wait_for(&setup.tally, expected, Duration::from_secs(600))
            .await
            .ok_or_else(|| format!("{event_type}: not all received within 10 minutes"))?;
        Ok(done - started)
    }
}
