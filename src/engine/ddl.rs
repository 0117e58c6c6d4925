//! `CREATE STREAM|TABLE` (declared sources) and `DROP`.

use crate::sql::ast::{CreateSource, ParsedStatement, SourceKind};
use crate::topics::TopicError;

use super::{CommandStatus, Engine, EngineError, ExecContext, Session, StatementResult};

impl Engine {
    pub(super) fn create_source(
        &self,
        stmt: &CreateSource,
        parsed: &ParsedStatement,
        session: &Session,
        ctx: ExecContext,
    ) -> Result<StatementResult, EngineError> {
        let def = crate::plan::plan_create_source(stmt, &parsed.text, self.config.processing.default_partitions)?;
        let noun = match stmt.kind {
            SourceKind::Stream => "Stream",
            SourceKind::Table => "Table",
        };
        if let Some(existing) = self.catalog.read().source(&def.name) {
            if stmt.if_not_exists {
                return Ok(StatementResult::Status(CommandStatus {
                    message: format!(
                        "Cannot add {} {}: A {} with the same name already exists.",
                        noun.to_lowercase(),
                        def.name,
                        existing.kind_name().to_lowercase()
                    ),
                    command_seq: None,
                    query_id: None,
                    warnings: vec![format!("{} {} already exists; nothing was changed.", noun, def.name)],
                }));
            }
            if !stmt.or_replace {
                return Err(EngineError::invalid(format!(
                    "Cannot add {} '{}': A {} with the same name already exists",
                    noun.to_lowercase(),
                    def.name,
                    existing.kind_name().to_lowercase()
                )));
            }
            check_replace_compatible(existing, &def)?;
        }
        if def.name == self.processing_log.name {
            return Err(EngineError::invalid(format!(
                "{} is the processing log stream and cannot be redefined.",
                def.name
            )));
        }
        let explicit_partitions = stmt.properties.get("PARTITIONS").is_some();
        let exists = self.store.describe_topic(&def.topic)?;
        let mut def = def;
        match exists {
            Some(info) => {
                if explicit_partitions && info.partitions != def.partitions {
                    return Err(EngineError::invalid(format!(
                        "A Kafka topic with the name '{}' already exists, with different partition/replica configuration than required. KSQL expects {} partitions (topic has {}).",
                        def.topic, def.partitions, info.partitions
                    )));
                }
                def.partitions = info.partitions;
            }
            None => {
                if self.store.kind() != "embedded" && !explicit_partitions {
                    return Err(EngineError::invalid(format!(
                        "Topic '{0}' does not exist. If you want to create a new topic for the {1} please re-run the statement providing the required 'PARTITIONS' configuration in the WITH clause (and optionally 'REPLICAS'). For example: CREATE {2} {3} (...) WITH (KAFKA_TOPIC='{0}', PARTITIONS=2, REPLICAS=1, ...);",
                        def.topic,
                        noun.to_lowercase(),
                        noun.to_uppercase(),
                        def.name
                    )));
                }
            }
        }
        self.ensure_topic(&def.topic, def.partitions, explicit_partitions)?;
        self.log_command(parsed, session, ctx)?;
        let materialize = stmt.is_source && stmt.kind == SourceKind::Table;
        if materialize {
            def.created_by = Some(format!("CST_{}_{}", def.name, ctx.seq));
        }
        self.catalog.write().add_source(def.clone(), stmt.or_replace)?;
        let query_id = if materialize {
            Some(self.register_materialization(&def, session, ctx)?)
        } else {
            None
        };
        Ok(StatementResult::Status(CommandStatus {
            message: format!("{noun} created"),
            command_seq: Some(ctx.seq),
            query_id,
            warnings: vec![],
        }))
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn drop_source(
        &self,
        kind: SourceKind,
        name: &str,
        if_exists: bool,
        delete_topic: bool,
        parsed: &ParsedStatement,
        session: &Session,
        ctx: ExecContext,
    ) -> Result<StatementResult, EngineError> {
        let noun = match kind {
            SourceKind::Stream => "Stream",
            SourceKind::Table => "Table",
        };
        let Some(existing) = self.catalog.read().source(name).cloned() else {
            if if_exists {
                return Ok(StatementResult::Status(CommandStatus {
                    message: format!("{noun} {name} does not exist."),
                    command_seq: None,
                    query_id: None,
                    warnings: vec![],
                }));
            }
            return Err(EngineError::not_found(format!("{noun} {name} does not exist.")));
        };
        if existing.name == self.processing_log.name {
            return Err(EngineError::invalid(format!(
                "{name} is the processing log stream and cannot be dropped."
            )));
        }
        if existing.kind != kind {
            return Err(EngineError::invalid(format!(
                "Incompatible data source type is {}, but statement was DROP {}",
                existing.kind.as_str(),
                kind.as_str()
            )));
        }
        // The query that created this source goes with it, unless other queries still use the source.
        let own_query = existing.created_by.clone();
        {
            let catalog = self.catalog.read();
            let readers: Vec<String> = catalog.readers_of(name).map(|q| q.id.clone()).collect();
            let writers: Vec<String> = catalog
                .writers_of(name)
                .filter(|q| Some(&q.id) != own_query.as_ref())
                .map(|q| q.id.clone())
                .collect();
            if !readers.is_empty() || !writers.is_empty() {
                return Err(EngineError::invalid(format!(
                    "Cannot drop {name}.\nThe following queries read from this source: [{}].\nThe following queries write into this source: [{}].\nYou need to terminate them before dropping {name}.",
                    readers.join(", "),
                    writers.join(", ")
                )));
            }
        }
        self.log_command(parsed, session, ctx)?;
        if let Some(id) = &own_query
            && self.catalog.read().query(id).is_some()
        {
            self.stop_and_forget_query(id)?;
        }
        self.catalog.write().drop_source(name, kind)?;
        if existing.kind == SourceKind::Table {
            self.drop_view(name)?;
        }
        let mut message = format!("Source `{name}` (topic: {}) was dropped.", existing.topic);
        if delete_topic {
            match self.store.delete_topic(&existing.topic) {
                Ok(()) | Err(TopicError::UnknownTopic(_)) => {}
                Err(e) => {
                    message.push_str(&format!(" The topic could not be deleted: {e}"));
                }
            }
        }
        Ok(StatementResult::Status(CommandStatus {
            message,
            command_seq: Some(ctx.seq),
            query_id: None,
            warnings: vec![],
        }))
    }
}

/// `CREATE OR REPLACE` of a declared source may only append value columns; keys and formats stay.
fn check_replace_compatible(
    old: &crate::catalog::SourceDef,
    new: &crate::catalog::SourceDef,
) -> Result<(), EngineError> {
    if old.kind != new.kind {
        return Err(EngineError::invalid(format!(
            "Cannot replace {} {} with a {}.",
            old.kind_name().to_lowercase(),
            old.name,
            new.kind_name().to_lowercase()
        )));
    }
    let old_keys: Vec<_> = old.schema.key_columns().collect();
    let new_keys: Vec<_> = new.schema.key_columns().collect();
    if old_keys != new_keys {
        return Err(EngineError::invalid(format!(
            "Cannot upgrade data source: DataSource '{}' has schema = {} which is not upgradeable to {}. (Key columns must be identical.)",
            old.name,
            old.schema.to_ksql_string(),
            new.schema.to_ksql_string()
        )));
    }
    let old_values: Vec<_> = old.schema.value_columns().collect();
    let new_values: Vec<_> = new.schema.value_columns().collect();
    let changed: Vec<String> = old_values
        .iter()
        .enumerate()
        .filter(|(i, c)| new_values.get(*i) != Some(*c))
        .map(|(_, c)| format!("`{}` {}", c.name, c.ty))
        .collect();
    if !changed.is_empty() {
        return Err(EngineError::invalid(format!(
            "Cannot upgrade data source: DataSource '{}' has schema = {} which is not upgradeable to {}. (The following columns are changed, missing or reordered: [{}])",
            old.name,
            old.schema.to_ksql_string(),
            new.schema.to_ksql_string(),
            changed.join(", ")
        )));
    }
    if old.topic != new.topic || old.key_format != new.key_format || old.value_format != new.value_format {
        return Err(EngineError::invalid(format!(
            "Cannot upgrade data source {}: the topic and formats must stay the same.",
            old.name
        )));
    }
    Ok(())
}
