/**
 * Relay-style cursor connections over keyset pages: newest first by (createdAt, id), an
 * opaque cursor per edge, at most MAX_PAGE_SIZE a page.
 */
import type { ObjectRef } from '@pothos/core';
import { GraphQLError } from 'graphql';
import { builder } from './builder.ts';

export const MAX_PAGE_SIZE = 100;

interface Keyed {
  id: string;
  createdAt: Date;
}

export interface Page<T> {
  edges: T[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

export const cursorOf = (row: Keyed) => Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString('base64url');

/** The (time, id) a cursor stands for; a cursor that is not one is the caller's error. */
export function decodeCursor(cursor: string): { at: Date; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const time = new Date(at ?? '');
  if (!id || Number.isNaN(time.getTime())) throw new GraphQLError('after is not a cursor from this connection', { extensions: { code: 'BAD_USER_INPUT' } });
  return { at: time, id };
}

/** The filter for rows after the cursor, newest first. */
export function after(cursor: string) {
  const { at: createdAt, id } = decodeCursor(cursor);
  return { $or: [{ createdAt: { $lt: createdAt } }, { createdAt, id: { $lt: id } }] };
}

export function pageSize(first: number | null | undefined): number {
  return Math.min(Math.max(first ?? 20, 1), MAX_PAGE_SIZE);
}

/** Rows fetched with limit first + 1, as a page. */
export function toPage<T extends Keyed>(rows: T[], first: number): Page<T> {
  const edges = rows.slice(0, first);
  const last = edges.at(-1);
  return { edges, pageInfo: { hasNextPage: rows.length > first, endCursor: last ? cursorOf(last) : null } };
}

const PageInfo = builder.objectRef<Page<unknown>['pageInfo']>('PageInfo').implement({
  fields: (t) => ({ hasNextPage: t.exposeBoolean('hasNextPage'), endCursor: t.exposeString('endCursor', { nullable: true }) }),
});

/** `<Name>Connection { edges { cursor node } pageInfo }` for a node type. */
export function connectionOf<T extends Keyed>(name: string, node: ObjectRef<any, T>) {
  const Edge = builder.objectRef<T>(`${name}Edge`).implement({
    fields: (t) => ({ cursor: t.string({ resolve: cursorOf }), node: t.field({ type: node, resolve: (row) => row as never }) }),
  });
  return builder.objectRef<Page<T>>(`${name}Connection`).implement({
    fields: (t) => ({
      edges: t.field({ type: [Edge], resolve: (page) => page.edges }),
      pageInfo: t.field({ type: PageInfo, resolve: (page) => page.pageInfo }),
    }),
  });
}
