export { main, type MainIo } from './main.js';
export { createRunner, type Runner, type RunnerDeps } from './runner.js';
export { parseCommandLine, helpText, type RunnerConfig, type ParsedCommandLine } from './config.js';
export { createLogger, type Logger, type LoggerOptions, type LogFields, type LogLevel } from './logger.js';
export { createRunnerMetrics, type RunnerMetrics, type RunnerMetricsOptions } from './metrics.js';
export { ADMIN_PATHS, type Readiness } from './admin-server.js';
export { RunnerError, type RunnerErrorCode } from './errors.js';
