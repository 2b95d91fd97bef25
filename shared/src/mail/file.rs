//! Local mail: each message an RFC 5322 `.eml` file in the outbox folder,
//! and a line on the console with the link, so a developer can click it.

use std::path::PathBuf;

use async_trait::async_trait;

use super::{MailError, Mailer, RenderedMail};
use crate::domain::EmailAddress;

pub struct FileMailer {
    dir: PathBuf,
    from: String,
}

impl FileMailer {
    pub fn new(dir: PathBuf, from: impl Into<String>) -> Self {
        Self {
            dir,
            from: from.into(),
        }
    }
}

#[async_trait]
impl Mailer for FileMailer {
    async fn send(&self, mail: &RenderedMail) -> Result<(), MailError> {
        let bytes = mail.to_mime(&self.from)?;
        std::fs::create_dir_all(&self.dir).map_err(|e| {
            MailError::Unavailable(Box::new(crate::error::context(
                self.dir.display().to_string(),
                e,
            )))
        })?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let name = format!("{stamp}-{}.eml", uuid::Uuid::new_v4());
        // Written aside and renamed, so a reader never sees half a message.
        let partial = self.dir.join(format!(".{name}.partial"));
        let path = self.dir.join(&name);
        std::fs::write(&partial, &bytes)
            .and_then(|()| std::fs::rename(&partial, &path))
            .map_err(|e| {
                MailError::Unavailable(Box::new(crate::error::context(
                    path.display().to_string(),
                    e,
                )))
            })?;
        // The operator's console, not a log: the link is what they need to
        // click, and the address is masked.
        let to = EmailAddress::parse(&mail.to).map_or_else(|| "?".to_string(), |e| e.masked());
        let mut line = format!("mail to {to}: {} ({})", mail.subject, path.display());
        for link in mail
            .text
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("http"))
        {
            line.push_str(&format!("\n  link: {link}"));
        }
        // The .eml file is the delivery; a closed console must not fail it.
        use std::io::Write;
        let _ = writeln!(std::io::stdout().lock(), "{line}");
        Ok(())
    }
}
