"""What an OpenLineage event's datasets say beyond their names: physical identity (their name or their
`symlinks`), the `schema` facet, the `columnLineage` facet. Read defensively: a facet is the
producer's, and a malformed one is kept in the stored payload but contributes nothing here."""

from lineage import naming
from lineage.event_lineage import INPUT, OUTPUT, REFERENCED, ColumnEdge, DatasetRef
from lineage.openlineage_events import MAX_DATASET_NAME, MAX_NAMESPACE, EventDataset, ParsedEvent

MAX_COLUMN = 500
MAX_TRANSFORMATION = 100


def event_refs(event: ParsedEvent) -> tuple[list[DatasetRef], list[ColumnEdge]]:
    """A RunEvent's or JobEvent's datasets (inputs, outputs) or a DatasetEvent's one, and their column lineage."""
    if event.dataset is not None:
        return with_column_sources(*dataset_refs([event.dataset], REFERENCED))
    inputs, input_columns = dataset_refs(event.inputs, INPUT)
    outputs, output_columns = dataset_refs(event.outputs, OUTPUT)
    return with_column_sources(inputs + outputs, input_columns + output_columns)


def with_column_sources(refs: list[DatasetRef], columns: list[ColumnEdge]) -> tuple[list, list]:
    known = {(ref.namespace, ref.name) for ref in refs}
    # A column's source dataset that the event does not list as an input still needs a node.
    for edge in columns:
        if edge.source not in known:
            known.add(edge.source)
            refs.append(DatasetRef(edge.source[0], edge.source[1], REFERENCED, naming.physical_name(*edge.source)))
    return refs, columns


def dataset_refs(datasets: list[EventDataset], role: int) -> tuple[list[DatasetRef], list[ColumnEdge]]:
    refs, columns = [], []
    for dataset in datasets:
        refs.append(
            DatasetRef(
                namespace=dataset.namespace,
                name=dataset.name,
                role=role,
                physical_name=naming.dataset_physical_name(dataset.namespace, dataset.name, dataset.facets),
                schema_fields=schema_fields(dataset.facets),
            )
        )
        columns.extend(column_edges(dataset))
    return refs, columns


def schema_fields(facets: dict) -> list | None:
    schema = facets.get("schema")
    fields = schema.get("fields") if isinstance(schema, dict) else None
    if not isinstance(fields, list):
        return None
    return [item for item in fields if isinstance(item, dict) and isinstance(item.get("name"), str)]


def column_edges(dataset: EventDataset) -> list[ColumnEdge]:
    facet = dataset.facets.get("columnLineage")
    fields = facet.get("fields") if isinstance(facet, dict) else None
    if not isinstance(fields, dict):
        return []
    edges = []
    for column, lineage in fields.items():
        if not isinstance(lineage, dict) or not column or len(column) > MAX_COLUMN:
            continue
        inputs = lineage.get("inputFields")
        if not isinstance(inputs, list):
            continue
        for source in inputs:
            edge = _column_edge(dataset, column, lineage, source)
            if edge is not None:
                edges.append(edge)
    return edges


def _column_edge(dataset, column, lineage, source) -> ColumnEdge | None:
    if not isinstance(source, dict):
        return None
    namespace, name, field = source.get("namespace"), source.get("name"), source.get("field")
    if not all(isinstance(value, str) and value for value in (namespace, name, field)):
        return None
    if len(namespace) > MAX_NAMESPACE or len(name) > MAX_DATASET_NAME or len(field) > MAX_COLUMN:
        return None
    # Facet 1-2-0 puts the transformations on each input field; 1-0-x on the output column.
    transformations = source.get("transformations")
    first = transformations[0] if isinstance(transformations, list) and transformations else None
    if isinstance(first, dict):
        kind, subtype, description = first.get("type"), first.get("subtype"), first.get("description")
    else:
        kind, subtype = lineage.get("transformationType"), None
        description = lineage.get("transformationDescription")
    return ColumnEdge(
        target=(dataset.namespace, dataset.name),
        target_column=column,
        source=(namespace, name),
        source_column=field,
        transformation_type=_text(kind, MAX_TRANSFORMATION),
        transformation_subtype=_text(subtype, MAX_TRANSFORMATION),
        transformation_description=_text(description, 2000),
    )


def _text(value, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""
