/**
 * The SMTP client's public surface: connect, the session driver, and the pure protocol pieces the
 * delivery code needs to interpret outcomes. Import from here, not from the individual files.
 */
export { connectSmtp } from './connect.js';
export type { ConnectOptions, ConnectResult } from './connect.js';
export { SmtpSession } from './session.js';
export type { EhloResult, GreetingResult, OutgoingMessage, ReplyResult, SendResult, StartTlsResult, UpgradeResult } from './session.js';
export { DEFAULT_SMTP_TIMEOUTS, timeoutFor } from './timeouts.js';
export type { SmtpTimeouts } from './timeouts.js';
export type { SmtpFailure, SmtpFailureKind, SmtpPhase } from './failure.js';
export type { Capabilities } from './protocol/capabilities.js';
export type { SmtpReply } from './protocol/reply.js';
export { formatReply } from './protocol/reply.js';
export { replySeverity, replyText } from './protocol/enhanced.js';
export { recipientVerdicts } from './protocol/transaction.js';
export type { DataResult, RecipientResult, TransactionOutcome } from './protocol/transaction.js';
