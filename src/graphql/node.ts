/**
 * Relay's Node interface: every entity's id is already global (its prefix names its type:
 * `app_`, `trl_`, `sgc_`, `ep_`, `msg_`, `att_`, `key_`), so `node(id)` can find any of them.
 * Domain files register how to load their type; another tenant's node is simply not found.
 */
import { builder } from './builder.ts';
import { mayAccess, type GraphQLContext } from './context.ts';

interface Loadable {
  /** The GraphQL type name. */
  type: string;
  load: (id: string, ctx: GraphQLContext) => Promise<{ id: string; appId: string; node: object } | null>;
}

const byPrefix = new Map<string, Loadable>();

const prefixOf = (id: string) => id.slice(0, id.indexOf('_') + 1);

export const NodeRef = builder.interfaceRef<{ id: string }>('Node').implement({
  description: 'Anything with a global id; find it again with node(id)',
  fields: (t) => ({ id: t.exposeID('id') }),
  resolveType: (node) => byPrefix.get(prefixOf(node.id))?.type ?? null,
});

export function registerNode(prefix: string, loadable: Loadable): void {
  byPrefix.set(prefix, loadable);
}

builder.queryField('node', (t) =>
  t.field({
    type: NodeRef,
    nullable: true,
    description: 'Any entity by its global id; null when there is none the caller may see',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const loadable = byPrefix.get(prefixOf(args.id));
      const found = loadable ? await loadable.load(args.id, ctx) : null;
      return found && mayAccess(ctx.auth, found.appId) ? (found.node as { id: string }) : null;
    },
  }),
);
