//! send-email's constructor: the stream consumer delivers address requests
//! through the reset flows (which look the address up in the configured
//! directory and queue the mail) and sends the outbox through SES v2 (and
//! webhooks, with their retry queue).

use std::sync::Arc;

use crate::config::{ConfigError, DirectoryChoice, Environment, StreamSettings};
use crate::delivery::Outbox;
use crate::reset::ResetService;

/// What send-email builds once: the reset service its intake deliveries
/// run through, and the outbox it sends.
pub struct SendEmail {
    pub reset: ResetService,
    pub outbox: Outbox,
}

pub fn send_email(env: &Environment) -> Result<SendEmail, ConfigError> {
    let settings = StreamSettings::read(env)?;
    crate::mail::templates::init(settings.template_dir.as_deref()).map_err(|e| ConfigError {
        problems: vec![format!("REKEY_TEMPLATE_DIR: {}", crate::error::Chain(&e))],
    })?;
    let config = &settings.config;
    let store = super::store(&settings.store, &settings.aws);
    let mailer = crate::mail::ses::SesMailer::from_settings(&settings.mail_from, &settings.aws);
    // Intake delivery looks each address up where the accounts live (with
    // a pool, the pool: rekey's own table holds only a `<sub>@cognito.invalid`
    // record per pool user); notices that carry a pool sign-out retry it
    // through the same directory.
    let directory =
        crate::directory::from_environment(&config.directory, store.clone(), &settings.aws)?;
    let pool = matches!(config.directory, DirectoryChoice::Cognito { .. });
    let outbox = Outbox {
        directory: pool.then(|| directory.clone()),
        store: store.clone(),
        // Where texts are off, SNS's client is made only for a text queued
        // before they were turned off.
        texts: Some(Arc::new(crate::sms::sns::SnsTexter::from_settings(
            &settings.texts,
            &settings.aws,
            !config.sms.calling_codes.is_empty(),
        ))),
        mailer: Arc::new(mailer),
        keys: config.keys.clone(),
        product_name: config.product_name.clone(),
        #[cfg(all(feature = "webhook-delivery", not(feature = "sqs")))]
        webhooks: None,
        #[cfg(feature = "sqs")]
        webhooks: crate::webhook::sqs::sender(&settings.webhooks, &config.keys, &settings.aws),
    };
    let reset = crate::App::new(config, store)
        .with_directory(directory)
        .reset;
    Ok(SendEmail { reset, outbox })
}
