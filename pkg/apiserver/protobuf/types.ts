/** The shape of the protobuf field tables (see tables.ts). */

/** [JSON name ('' = inlined into the parent object), type tag, flags ('r' repeated, 'z' omit when zero)]. */
export type FieldSpec = readonly [json: string, type: string, flags?: string];

/** One message: field number -> spec. */
export type MessageTable = Readonly<Record<number, FieldSpec>>;
