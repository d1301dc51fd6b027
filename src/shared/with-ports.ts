/**
 * A use case is a function of the ports it needs and its input. Module wiring binds the ports once and
 * hands the driving adapters the rest: `withPorts(ports)(placeOrder)` is `(cmd) => placeOrder(ports, cmd)`.
 */
export const withPorts =
  <P>(ports: P) =>
  <A extends unknown[], R>(useCase: (ports: P, ...args: A) => R) =>
  (...args: A): R =>
    useCase(ports, ...args);

/** The input of a use case, without its ports. */
export type UseCaseArgs<F> = F extends (ports: never, ...args: infer A) => unknown ? A : never;

/** A use case as a driving adapter calls it, its ports bound. */
export type BoundUseCase<F extends (...args: never[]) => unknown> = (...args: UseCaseArgs<F>) => ReturnType<F>;
