/**
 * The registry of connected sites: at most one session per site (a second connection replaces
 * the first). Knows nothing of rounds; the engine listens to `joined` / `left`.
 */
import { EventEmitter } from 'node:events';
import { errorMessage, type Message } from '@focus-fl/core/federated';

/** What the engine needs from a connected site (the ws layer implements it). */
export interface SiteSession {
  readonly site: string;
  readonly budget: number;
  readonly backend: string;
  /** Global version this site holds (null: none / unknown). */
  knownVersion: number | null;
  send(msg: Message): void;
  close(code: number, reason: string): void;
}

export class SessionRegistry extends EventEmitter<{
  joined: [SiteSession];
  left: [SiteSession];
}> {
  private readonly bySite = new Map<string, SiteSession>();

  get size(): number {
    return this.bySite.size;
  }
  get(site: string): SiteSession | undefined {
    return this.bySite.get(site);
  }
  has(site: string): boolean {
    return this.bySite.has(site);
  }
  sites(): string[] {
    return [...this.bySite.keys()];
  }
  all(): SiteSession[] {
    return [...this.bySite.values()];
  }

  /** A site finished its hello. A second connection for the same site replaces the first. */
  join(s: SiteSession): void {
    const old = this.bySite.get(s.site);
    if (old) {
      old.send(errorMessage('duplicate', 'replaced by a newer connection of this site'));
      old.close(4000, 'replaced');
      this.leave(old);
    }
    this.bySite.set(s.site, s);
    this.emit('joined', s);
  }

  /** Removes `s` if it is still the site's current session (a replaced one is ignored). */
  leave(s: SiteSession): void {
    if (this.bySite.get(s.site) !== s) return;
    this.bySite.delete(s.site);
    this.emit('left', s);
  }
}
