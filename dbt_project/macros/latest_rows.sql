{#- De-duplication of raw tables. Every raw table keeps every delivered row together with
    its lineage (_file_name, _export_date, _line_number), so staging decides which copy of
    a record is the truth. Both macros return a select of every column of `relation` plus
    one helper rank column; callers name the columns they keep. `relation` is a relation or
    the name of a CTE, `key` the column that identifies a record. Only standard window
    functions and scalar subqueries are used, so no adapter needs its own version. -#}

{#- Snapshot sources: every file is a full export, the newest file is the truth. Keeps the
    rows of the newest file (highest _export_date, then highest _file_name on that date)
    and, should that file hold a key twice, the copy on the later line.

    With `quarantine` (the loaders' quarantine relation) and `source_name`, a record of the
    newest file that was quarantined does not make its entity vanish: when the quarantine
    names its key and the newest file has no readable row of that key, the entity's latest
    readable row of an earlier file is kept instead (its _file_name tells which). An entity
    that is simply absent from the newest file is gone, as before. -#}
{% macro latest_snapshot_rows(relation, key, quarantine=none, source_name=none) -%}
    {%- set in_newest_file -%}
        delivered._export_date = (
            select max(_export_date) from {{ relation }}
        )
        and delivered._file_name = (
            select max(_file_name) from {{ relation }}
            where _export_date = (select max(_export_date) from {{ relation }})
        )
    {%- endset %}
    select ranked.*
    from (
        select
            delivered.*,
            row_number() over (
                partition by delivered.{{ key }}
                order by delivered._line_number desc
            ) as _row_rank_in_file
        from {{ relation }} as delivered
        where
            {{ in_newest_file }}
    ) as ranked
    where ranked._row_rank_in_file = 1
    {%- if quarantine is not none %}

    union all

    select carried.*
    from (
        select
            delivered.*,
            row_number() over (
                partition by delivered.{{ key }}
                order by
                    delivered._export_date desc,
                    delivered._file_name desc,
                    delivered._line_number desc
            ) as _row_rank_in_file
        from {{ relation }} as delivered
        where
            not ({{ in_newest_file }})
            and delivered.{{ key }} in (
                select quarantined.record_key
                from {{ quarantine }} as quarantined
                where
                    quarantined.source = '{{ source_name }}'
                    and quarantined.record_key is not null
                    and quarantined.file_name = (
                        select max(_file_name) from {{ relation }}
                        where _export_date = (select max(_export_date) from {{ relation }})
                    )
            )
            and delivered.{{ key }} not in (
                select newest.{{ key }}
                from {{ relation }} as newest
                where
                    newest._export_date = (select max(_export_date) from {{ relation }})
                    and newest._file_name = (
                        select max(_file_name) from {{ relation }}
                        where _export_date = (select max(_export_date) from {{ relation }})
                    )
            )
    ) as carried
    where carried._row_rank_in_file = 1
    {%- endif %}
{%- endmacro %}

{#- Event sources: batches overlap and a corrected copy of an event can arrive later. Keeps
    one row per key: the latest delivered copy (highest _export_date, then _file_name,
    then _line_number). `only_keys`, when given, names a CTE (or relation) of the keys to
    rank: every delivered copy of those keys is ranked, whenever it was loaded, so an
    incremental run picks the same copy as a full one (incremental_events.sql). -#}
{% macro latest_delivered_rows(relation, key, only_keys=none) -%}
    {%- set key_filter = 'true' -%}
    {%- if only_keys is not none -%}
        {%- set key_filter = 'delivered.' ~ key ~ ' in (select ' ~ key ~ ' from '
            ~ only_keys ~ ')' -%}
    {%- endif -%}
    select ranked.*
    from (
        select
            delivered.*,
            row_number() over (
                partition by delivered.{{ key }}
                order by
                    delivered._export_date desc,
                    delivered._file_name desc,
                    delivered._line_number desc
            ) as _delivery_rank
        from {{ relation }} as delivered
        where {{ key_filter }}
    ) as ranked
    where ranked._delivery_rank = 1
{%- endmacro %}
