/**
 * The class, also callable without `new` (`TornadoWebSocket(path)`, as the seed documents),
 * while `instanceof`, static members and subclassing keep working.
 */
export function callableWithoutNew<C extends new (...args: any[]) => object>(
  cls: C,
): C & ((...args: ConstructorParameters<C>) => InstanceType<C>) {
  return new Proxy(cls, {
    apply: (target, _thisArg, args: ConstructorParameters<C>) => new target(...args),
  }) as C & ((...args: ConstructorParameters<C>) => InstanceType<C>);
}
