//! Local texts: each one a `.sms.txt` file in the outbox folder beside the
//! mail, and a line on the console with the code, as `rekeyctl serve`
//! does for mail.

use std::path::PathBuf;

use async_trait::async_trait;

use super::{TextError, TextMessage, TextSender};

pub struct FileTexter {
    dir: PathBuf,
}

impl FileTexter {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }
}

#[async_trait]
impl TextSender for FileTexter {
    async fn send(&self, text: &TextMessage) -> Result<(), TextError> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| TextError::Unavailable(format!("{}: {e}", self.dir.display())))?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let name = format!("{stamp}-{}.sms.txt", uuid::Uuid::new_v4());
        // The developer's own outbox, like the .eml files: the recipient
        // and the message, written aside and renamed.
        let contents = format!("To: {}\n\n{}\n", text.to.as_str(), text.body);
        let partial = self.dir.join(format!(".{name}.partial"));
        let path = self.dir.join(&name);
        std::fs::write(&partial, contents)
            .and_then(|()| std::fs::rename(&partial, &path))
            .map_err(|e| TextError::Unavailable(format!("{}: {e}", path.display())))?;
        let mut line = format!("text to {}: ({})", text.to.masked(), path.display());
        for l in text.body.lines() {
            line.push_str(&format!("\n  {l}"));
        }
        use std::io::Write;
        let _ = writeln!(std::io::stdout().lock(), "{line}");
        Ok(())
    }
}
