//! Files from a threaded actor: read, write and list in granted directories.

wactor_guest::actor!("wactor-examples:file-store/file-store");

struct FileStore;

impl Guest for FileStore {
    fn read_file(path: String) -> Result<String, String> {
        std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))
    }

    fn write_file(path: String, text: String) -> Result<(), String> {
        std::fs::write(&path, text).map_err(|e| format!("{path}: {e}"))
    }

    fn list_dir(path: String) -> Result<Vec<String>, String> {
        let mut names = std::fs::read_dir(&path)
            .and_then(|entries| {
                entries
                    .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
                    .collect::<std::io::Result<Vec<_>>>()
            })
            .map_err(|e| format!("{path}: {e}"))?;
        names.sort();
        Ok(names)
    }
}

export!(FileStore);
