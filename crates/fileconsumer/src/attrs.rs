//! The `include_file_*` attributes of a file: name and path as globbed, resolved name and
//! path (symlinks followed, absolute), owner and group names.

use std::ffi::CStr;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde_json::Value;

use crate::Attributes;
use crate::config::Config;
use crate::keys;

/// Which attributes to resolve.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Resolver {
    name: bool,
    path: bool,
    name_resolved: bool,
    path_resolved: bool,
    owner: bool,
    group: bool,
}

impl Resolver {
    pub fn new(cfg: &Config) -> Resolver {
        Resolver {
            name: cfg.include_file_name,
            path: cfg.include_file_path,
            name_resolved: cfg.include_file_name_resolved,
            path_resolved: cfg.include_file_path_resolved,
            owner: cfg.include_file_owner_name,
            group: cfg.include_file_owner_group_name,
        }
    }

    pub fn resolve(&self, path: &str, file: &std::fs::File) -> Result<Attributes, String> {
        let mut a = Attributes::new();
        let p = Path::new(path);
        let base = |p: &Path| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        if self.name {
            a.insert(keys::FILE_NAME.into(), Value::String(base(p)));
        }
        if self.path {
            a.insert(keys::FILE_PATH.into(), Value::String(path.to_string()));
        }
        if self.name_resolved || self.path_resolved {
            let resolved =
                std::fs::canonicalize(p).map_err(|e| format!("resolve symlinks: {e}"))?;
            if self.name_resolved {
                a.insert(
                    keys::FILE_NAME_RESOLVED.into(),
                    Value::String(base(&resolved)),
                );
            }
            if self.path_resolved {
                a.insert(
                    keys::FILE_PATH_RESOLVED.into(),
                    Value::String(resolved.to_string_lossy().into_owned()),
                );
            }
        }
        if self.owner || self.group {
            let meta = file.metadata().map_err(|e| format!("stat: {e}"))?;
            if self.owner {
                let name = user_name(meta.uid()).ok_or_else(|| {
                    format!("resolve file owner name: unknown userid {}", meta.uid())
                })?;
                a.insert(keys::FILE_OWNER_NAME.into(), Value::String(name));
            }
            if self.group {
                let name = group_name(meta.gid()).ok_or_else(|| {
                    format!("resolve file group name: unknown groupid {}", meta.gid())
                })?;
                a.insert(keys::FILE_OWNER_GROUP_NAME.into(), Value::String(name));
            }
        }
        Ok(a)
    }
}

fn user_name(uid: u32) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: pwd and result are plain out-parameters; buf outlives the call and its
    // length is passed; on success pw_name points into buf and is NUL-terminated.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result);
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        Some(CStr::from_ptr(pwd.pw_name).to_string_lossy().into_owned())
    }
}

fn group_name(gid: u32) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: as in user_name, for getgrgid_r.
    unsafe {
        let mut grp: libc::group = std::mem::zeroed();
        let mut result: *mut libc::group = std::ptr::null_mut();
        let rc = libc::getgrgid_r(gid, &mut grp, buf.as_mut_ptr(), buf.len(), &mut result);
        if rc != 0 || result.is_null() || grp.gr_name.is_null() {
            return None;
        }
        Some(CStr::from_ptr(grp.gr_name).to_string_lossy().into_owned())
    }
}
