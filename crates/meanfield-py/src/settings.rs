//! Settings from Python: a config dict or keyword arguments are the keys of `config.toml`
//! (the same names, the same nested tables), turned into TOML tables and resolved by the
//! library's one resolver ([`TrainConfig::resolve`]): defaults < preset < config < keywords.

use crate::errors;
use meanfield_train::TrainConfig;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// A Python dict of settings as a TOML table (`what` names it in errors).
pub fn table(dict: Option<&Bound<'_, PyDict>>, what: &str) -> PyResult<toml::Table> {
    match dict {
        None => Ok(toml::Table::new()),
        Some(d) => pythonize::depythonize::<toml::Table>(d.as_any()).map_err(|e| {
            PyValueError::new_err(format!(
                "{what}: {e}; give the keys of config.toml with numbers, strings, booleans, lists or nested dicts as values"
            ))
        }),
    }
}

/// The setting of `preset` (a name from configs/, or none), then the config (a dict of
/// config.toml's keys, or a TOML file), then `keywords`: each layer checked alone first (an
/// unknown key or a wrong type quoted with its own line). `refused` are the keys a study sets
/// itself (`Study::refused`), refused in the config and in the keywords alike. As on the
/// command line, a dataset's own setting for another dataset is refused in the keywords (as
/// in flags; a config, like a file, may be a whole run's setting), and a config that names its run directory (`out`) takes
/// no keyword that would train another setting into it.
pub fn resolve(
    preset: Option<&str>,
    config_dict: Option<&Bound<'_, PyDict>>,
    config_file: Option<&str>,
    keywords: Option<&Bound<'_, PyDict>>,
    refused: &[(&'static str, String)],
) -> PyResult<TrainConfig> {
    let mut layers = Vec::new();
    if let Some(p) = preset {
        layers.push((
            format!("preset {p:?} (configs/{p}.toml)"),
            TrainConfig::preset(p).map_err(errors::train)?,
        ));
    }
    let t = table(keywords, "keyword arguments")?;
    meanfield_train::config::check_settings_table("keyword arguments", &t)
        .map_err(errors::train)?;
    if let Some((key, why)) = meanfield_study::axes::refused_key(&t, refused) {
        return Err(PyValueError::new_err(format!(
            "keyword argument `{key}`: {why}"
        )));
    }
    if let Some(path) = config_file {
        let source = path.to_string();
        let f = meanfield_train::config::read_settings_file(std::path::Path::new(path))
            .map_err(errors::train)?;
        meanfield_study::axes::check_table(&source, &f, refused).map_err(errors::study)?;
        meanfield_train::config::check_out_kept(&source, &f, &t).map_err(errors::train)?;
        layers.push((source, f));
    }
    if config_dict.is_some() {
        let d = table(config_dict, "config")?;
        meanfield_train::config::check_settings_table("dict", &d).map_err(errors::train)?;
        if let Some((key, why)) = meanfield_study::axes::refused_key(&d, refused) {
            return Err(PyValueError::new_err(format!("config key `{key}`: {why}")));
        }
        meanfield_train::config::check_out_kept("dict", &d, &t).map_err(errors::train)?;
        layers.push(("dict".to_string(), d));
    }
    let given = t.clone();
    layers.push(("keyword arguments".to_string(), t));
    let config = TrainConfig::resolve(layers).map_err(errors::train)?;
    meanfield_train::config::check_dataset_settings(&given, config.dataset)
        .map_err(errors::train)?;
    Ok(config)
}
