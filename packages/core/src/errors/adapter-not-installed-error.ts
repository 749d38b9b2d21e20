import { A2ABusError, formatMessage } from './a2a-bus-error.js';

/** `createTransport` was asked for a backend whose adapter package is not installed. */
export class AdapterNotInstalledError extends A2ABusError {
  static readonly code = 'ADAPTER_NOT_INSTALLED';
  readonly packageName: string;

  constructor(backend: string, packageName: string, options: { cause?: unknown } = {}) {
    super(
      AdapterNotInstalledError.code,
      formatMessage(undefined, `the ${backend} backend needs the package ${packageName}: install it (pnpm add ${packageName})`),
      options,
    );
    this.packageName = packageName;
  }

  static override isInstance(error: unknown): error is AdapterNotInstalledError {
    return A2ABusError.isInstance(error) && error.code === AdapterNotInstalledError.code;
  }
}
