/**
 * Aha rules: an event name, optionally a property that must equal a value, and how many
 * such events make the aha moment (default 1). The contract's `ahaEvents` names are rules
 * with neither. Pure.
 */
export interface AhaRule {
  event: string;
  property?: string | null;
  equals?: string | null;
  count?: number | null;
}

export function rulesFrom(ahaEvents: string[], ahaRules: AhaRule[]): AhaRule[] {
  return [...ahaEvents.map((event) => ({ event })), ...ahaRules];
}

/** The value at a dotted path (`plan.tier`) of an event's properties, as text. */
function valueAt(properties: Record<string, unknown>, path: string): string | null {
  let value: unknown = properties;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, part)) return null;
    value = (value as Record<string, unknown>)[part];
  }
  return value === null || typeof value === 'object' ? null : String(value);
}

export function matchesRule(rule: AhaRule, name: string | null, properties: Record<string, unknown>): boolean {
  if (name !== rule.event) return false;
  if (!rule.property) return true;
  const value = valueAt(properties, rule.property);
  return rule.equals == null ? value !== null : value === rule.equals;
}

export function requiredCount(rule: AhaRule): number {
  return Math.max(1, rule.count ?? 1);
}
