/** Who asks: the token's subject and role. */
export interface Actor {
  id: string;
  role: 'admin' | 'customer';
}

/** A customer sees only their own orders; to them, anyone else's simply does not exist. */
export const canSee = (actor: Actor, customerId: string) => actor.role === 'admin' || actor.id === customerId;
