export type Provider = 'runway' | 'useapi' | 'makevid';
export const PROVIDERS: readonly Provider[] = ['runway', 'useapi', 'makevid'];
export type TaskState = 'queued' | 'throttled' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'unknown';

export interface TaskOutput {
  /** Signed and expiring: works until expiresAt. */
  url: string;
  previewUrls: string[];
  kind: 'video' | 'image' | 'audio' | 'unknown';
  mimeType?: string;
  durationSec?: number;
  width?: number;
  height?: number;
  frameRate?: number;
  sizeBytes?: number;
  /** ISO time the signed URL stops working (from its _jwt `exp`; decoded, not verified). */
  expiresAt?: string;
  assetId?: string;
}

export interface RunwayTaskView {
  id: string;
  provider: Provider;
  status: TaskState;
  rawStatus: string;
  terminal: boolean;
  /** 0..1, or null when the provider gives none. */
  progress: number | null;
  createdAt: string | null;
  updatedAt: string | null;
  model?: string;
  prompt?: string;
  etaToStartSec?: number | null;
  inputs?: { initImage?: string };
  outputs: TaskOutput[];
  error: { code?: string; message: string; category?: string; retryable: boolean } | null;
  /** When to look again, in seconds, if not terminal. */
  pollAfterSec?: number;
}

export interface AccountView {
  email: string;
  maxJobs: number | null;
  sessionExpiresAt: string | null;
  sessionValid: boolean | null;
}
