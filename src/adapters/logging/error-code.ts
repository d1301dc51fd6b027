// The kernel holds it (the core's use cases log codes too); adapters keep importing it from here.
export { errorCode } from '../../shared/error-code.ts';
