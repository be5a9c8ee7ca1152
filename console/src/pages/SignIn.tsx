/** Sign in with the admin token or an app's API key; a wrong one is said so, nothing is kept but for this tab. */
import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { createApiClient } from '../client.ts';
import { graphql } from '../gql/index.ts';
import { session } from '../session.ts';

const SignInCheck = graphql(`
  query SignInCheck {
    apps {
      id
    }
  }
`);

export function SignIn() {
  const navigate = useNavigate();
  const [token, setToken] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setChecking(true);
    setProblem(null);
    const result = await createApiClient(token.trim()).query(SignInCheck, {}, { requestPolicy: 'network-only' }).toPromise();
    setChecking(false);
    if (result.error) {
      const unauthenticated = result.error.graphQLErrors.some((error) => error.extensions?.code === 'UNAUTHENTICATED');
      setProblem(unauthenticated ? 'That token is not valid: use the admin token (DATA_DIR/admin-token) or an app API key.' : result.error.message);
      return;
    }
    session.signIn(token.trim());
    navigate('/');
  }

  return (
    <main className="sign-in">
      <h1>Trialcast</h1>
      <form onSubmit={submit} aria-describedby={problem ? 'sign-in-problem' : undefined}>
        <label htmlFor="token">Admin token or app API key</label>
        <input id="token" name="token" type="password" autoComplete="off" required value={token} onChange={(event) => setToken(event.target.value)} />
        <p className="hint">Kept for this browser tab only.</p>
        {problem && (
          <p id="sign-in-problem" className="error" role="alert">
            {problem}
          </p>
        )}
        <button type="submit" disabled={checking || token.trim() === ''}>
          {checking ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
